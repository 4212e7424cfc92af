import type { Job, Worker } from 'bullmq';
import type { GenerationResult, JobData } from '../core/job-contract.ts';
import type { Logger } from '../core/logger.ts';
import { jobTenant } from '../core/tenants/job-tenant.ts';
import type { TenantLedger } from '../core/tenants/ledger.ts';
import { countTenantJobEnd } from '../core/tenants/tenant-metrics.ts';
import type { JobTokens, TenantJobOutcome } from '../core/tenants/usage.ts';

/** A failed job has no result: nothing it may have generated is counted (docs/security.md). */
const NO_TOKENS: JobTokens = { prompt_tokens: 0, completion_tokens: 0 };

/**
 * Records the end of every job this worker finishes in its tenant's ledger: the slot it held under
 * `TENANT_MAX_JOBS` is freed, and its outcome and tokens go to the day it finished. It listens to
 * BullMQ's own events, which fire once the outcome is stored, so a job is never counted as ended
 * while it could still run again. Should this process die in between, or Redis refuse the write,
 * the API's prune records the end from the stored job instead.
 */
export function recordTenantUsage(worker: Worker<JobData, GenerationResult>, ledger: TenantLedger, logger: Logger): void {
  const record = (job: Job<JobData, GenerationResult>, outcome: TenantJobOutcome, tokens: JobTokens) => {
    const tenant = jobTenant(job.data);
    ledger
      .finish(tenant, job.id ?? '', outcome, tokens, job.finishedOn ?? Date.now())
      .then((recorded) => {
        if (recorded) countTenantJobEnd(tenant, outcome, tokens);
      })
      .catch((error: unknown) => {
        logger.warn({ jobId: job.id, tenant, err: (error as Error).message }, 'job end not recorded in its tenant usage yet: the API prune will');
      });
  };
  worker.on('completed', (job, result) => {
    const tokens = { prompt_tokens: result.usage.prompt_tokens, completion_tokens: result.usage.completion_tokens };
    record(job, result.finish_reason === 'cancelled' ? 'cancelled' : 'completed', tokens);
  });
  worker.on('failed', (job) => {
    // BullMQ stamps finishedOn only on a job that failed for good: a retried attempt is no end.
    if (job?.finishedOn) record(job, 'failed', NO_TOKENS);
  });
}
