import { Worker, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../core/config.ts';
import type { GenerationResult, JobData } from '../core/job-contract.ts';
import type { Logger } from '../core/logger.ts';
import { trackJobOutcomes } from '../core/metrics/job-outcomes.ts';
import type { JobProcessor } from './processor.ts';

export interface JobWorkerOptions {
  config: Config;
  /** Recorded on each job as `processedBy`: which worker ran it. */
  workerId: string;
  /** BullMQ's own connection (blocking commands, locks). */
  connection: Redis;
  processor: JobProcessor;
  /** Jobs taken at once: the pool's slots. */
  concurrency: number;
  logger: Logger;
}

/** The BullMQ `Worker` that takes jobs from the queue and runs them in the processor. */
export function createJobWorker(options: JobWorkerOptions): Worker<JobData, GenerationResult> {
  const { config, processor, logger } = options;
  const worker = new Worker<JobData, GenerationResult>(
    config.QUEUE_NAME,
    // A job the shutdown stopped goes back to the queue from within (WaitingError), not as a result.
    processor.process,
    {
      connection: options.connection as ConnectionOptions,
      prefix: config.REDIS_PREFIX,
      name: options.workerId,
      concurrency: options.concurrency,
      lockDuration: config.JOB_LOCK_MS,
      stalledInterval: config.JOB_LOCK_MS,
      maxStalledCount: config.MAX_STALLED_COUNT,
    },
  );
  worker.on('failed', (job, error) => {
    logger.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: error.message }, 'job failed');
  });
  worker.on('error', (error) => logger.warn({ err: error.message }, 'worker error'));
  trackJobOutcomes(worker);
  return worker;
}
