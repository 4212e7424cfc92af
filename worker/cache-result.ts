import type { Job } from 'bullmq';
import { cacheHash, type ResultCache } from '../core/cache.ts';
import type { GenerationResult, JobData } from '../core/job-contract.ts';
import type { Logger } from '../core/logger.ts';

export interface CacheResultDeps {
  cache: ResultCache;
  /** The identity of the model this worker ran the job on (`servedCacheIdentity` of its record). */
  cacheIdentity: string;
  logger: Logger;
}

/**
 * Stores a cacheable job's result under the key its API computed and, when that differs, under the
 * key of the model this worker actually ran: an API that queued the job before any worker had
 * reported keyed it by the model it predicted, and requests made since are keyed by the reported
 * one, so the result answers both. Sent, not waited for: it goes on BullMQ's connection, so Redis
 * stores it before the job's completion, which BullMQ sends next.
 */
export function cacheResult(deps: CacheResultDeps, job: Job<JobData, GenerationResult>, result: GenerationResult): void {
  const { cacheKey, cacheOwner, prompt, messages, embed, sampling } = job.data;
  if (!cacheKey) return;
  const own = cacheHash(deps.cacheIdentity, { prompt, messages, embed }, sampling, cacheOwner);
  for (const key of own === cacheKey ? [cacheKey] : [cacheKey, own]) {
    deps.cache.set(key, result, cacheOwner).catch((error: unknown) => {
      deps.logger.warn({ jobId: job.id, err: (error as Error).message }, 'result not cached');
    });
  }
}
