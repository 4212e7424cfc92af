/**
 * What a tenant used on one UTC day: one Redis hash per tenant and day (`<prefix>:usage:<tenant>:<day>`),
 * written by the API (submissions) and by whoever records a job's end (the worker, the API's cancel
 * of a waiting job, the API's prune after a crash).
 */

/** How a job ended, as usage and the per-tenant metrics count it. */
export const TENANT_JOB_OUTCOMES = ['completed', 'failed', 'cancelled'] as const;
export type TenantJobOutcome = (typeof TENANT_JOB_OUTCOMES)[number];

/** The fields of a day's record, in the order the usage report shows them. */
export const USAGE_FIELDS = ['requests', 'completed', 'failed', 'cancelled', 'prompt_tokens', 'completion_tokens', 'cache_hits'] as const;
export type UsageField = (typeof USAGE_FIELDS)[number];

/** One day's counts; a day without a record is all zeros. */
export type UsageCounts = Record<UsageField, number>;

export function emptyUsage(): UsageCounts {
  return Object.fromEntries(USAGE_FIELDS.map((field) => [field, 0])) as UsageCounts;
}

/** A day's record as HGETALL returns it (absent fields are 0; unknown ones are ignored). */
export function usageFromHash(hash: Record<string, string>): UsageCounts {
  const counts = emptyUsage();
  for (const field of USAGE_FIELDS) {
    const value = Number(hash[field] ?? 0);
    counts[field] = Number.isFinite(value) ? value : 0;
  }
  return counts;
}

export function addUsage(into: UsageCounts, more: UsageCounts): UsageCounts {
  for (const field of USAGE_FIELDS) into[field] += more[field];
  return into;
}

/** The tokens of a job's end that a day's record and budget count. */
export interface JobTokens {
  prompt_tokens: number;
  completion_tokens: number;
}
