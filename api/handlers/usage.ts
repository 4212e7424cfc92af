import type { RequestHandler } from 'express';
import { z } from 'zod';
import { badRequest, notFound } from '../../core/errors.ts';
import { TenantLedger } from '../../core/tenants/ledger.ts';
import { dayCount, daysBetween, parseUtcDay, utcDay } from '../../core/tenants/usage-day.ts';
import { addUsage, emptyUsage, type UsageCounts } from '../../core/tenants/usage.ts';
import type { ApiDeps } from '../deps.ts';
import { viewerOf } from '../request-guard/authenticate.ts';
import { parseBody } from '../validate.ts';

/** The longest range one request may read: a year, leap day included. */
export const MAX_USAGE_DAYS = 366;

const DAY_FORMAT = /^\d{4}-\d{2}-\d{2}$/;
const day = z
  .string()
  .regex(DAY_FORMAT, 'must be a UTC date as YYYY-MM-DD')
  // One message per mistake: the calendar is checked only on what has the format.
  .refine((value) => !DAY_FORMAT.test(value) || parseUtcDay(value) !== undefined, 'is not a date of the calendar');

/** The query of GET /api/v1/usage; unknown parameters are refused like unknown body fields. */
export const usageQuerySchema = z.strictObject({
  from: day.optional().describe('First UTC day (YYYY-MM-DD), included. Default: `to`.'),
  to: day.optional().describe('Last UTC day (YYYY-MM-DD), included. Default: today (UTC).'),
  tenant: z
    // The tenant names API_KEYS_FILE accepts.
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'is not a tenant name')
    .optional()
    .describe("Whose usage: admins only; another tenant's usage is 404 to everyone else. Default: the caller's tenant."),
});

/** The answer of GET /api/v1/usage (its schema for the OpenAPI document: api/openapi/native-schemas.ts). */
export interface UsageReport {
  tenant: string;
  from: string;
  to: string;
  /** The tenant's limits now; 0 is none. */
  limits: { max_jobs: number; tokens_per_day: number };
  /** Jobs the tenant has queued or active now, as `TENANT_MAX_JOBS` counts them. */
  live_jobs: number;
  total: UsageCounts;
  days: (UsageCounts & { date: string })[];
}

/**
 * GET /api/v1/usage — the caller's tenant's usage per UTC day: requests, jobs by outcome, tokens,
 * cache hits; with its limits and the jobs it has queued or active now.
 */
export function usage(deps: ApiDeps): RequestHandler {
  const ledger = new TenantLedger(deps.redis, deps.keys, deps.config.USAGE_RETENTION_DAYS);
  return async (req, res) => {
    const query = parseBody(usageQuerySchema, { ...req.query });
    const to = query.to ?? utcDay(Date.now());
    const from = query.from ?? to;
    const fromMs = parseUtcDay(from) ?? 0;
    const toMs = parseUtcDay(to) ?? 0;
    if (fromMs > toMs) throw badRequest('invalid_request', `from (${from}) is after to (${to})`, 'from');
    if (dayCount(fromMs, toMs) > MAX_USAGE_DAYS) {
      throw badRequest('invalid_request', `from ${from} to ${to} spans ${dayCount(fromMs, toMs)} days; at most ${MAX_USAGE_DAYS} per request`, 'from');
    }
    const viewer = viewerOf(res);
    const tenant = query.tenant ?? viewer.tenant;
    // As for jobs: another tenant's data is answered as if it did not exist.
    if (tenant !== viewer.tenant && !viewer.admin) throw notFound(`tenant ${tenant} not found`);

    const dates = daysBetween(fromMs, toMs);
    const [counts, liveJobs] = await Promise.all([ledger.usage(tenant, dates), ledger.liveJobs(tenant)]);
    const limits = deps.tenants.limitsOf(tenant);
    const report: UsageReport = {
      tenant,
      from,
      to,
      limits: { max_jobs: limits.maxJobs, tokens_per_day: limits.tokensPerDay },
      live_jobs: liveJobs,
      total: counts.reduce(addUsage, emptyUsage()),
      days: dates.map((date, i) => ({ date, ...(counts[i] ?? emptyUsage()) })),
    };
    res.json(report);
  };
}
