import { processMetrics, type Metrics } from '../metrics/registry.ts';
import type { JobTokens, TenantJobOutcome } from './usage.ts';

/**
 * Counts a job's end recorded in its tenant's usage, in the process that recorded it: the worker
 * for jobs that ran, the API for waiting jobs it cancelled and for ends its prune recovered.
 * `sum()` over processes gives the tenant's whole count. Tenant names come from configuration, so
 * the label stays bounded; nothing a client typed, and never a key, becomes a label.
 */
export function countTenantJobEnd(tenant: string, outcome: TenantJobOutcome, tokens: JobTokens, metrics: Metrics = processMetrics()): void {
  const { m } = metrics;
  m.tenantJobs.inc({ tenant, outcome });
  // Incremented by 0 too: the series exist from a tenant's first job, so rate() sees the next one.
  m.tenantTokens.inc({ tenant, kind: 'prompt' }, tokens.prompt_tokens);
  m.tenantTokens.inc({ tenant, kind: 'completion' }, tokens.completion_tokens);
}
