import { WaitingError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../core/config.ts';
import type { GenerationResult, JobData } from '../core/job-contract.ts';
import type { RedisKeys } from '../core/keys.ts';
import type { Logger } from '../core/logger.ts';
import { trackJobOutcomes } from '../core/metrics/job-outcomes.ts';
import type { JobProcessor } from './processor.ts';

export interface JobWorkerOptions {
  config: Config;
  /** Recorded on each job as `processedBy`: which worker ran it. */
  workerId: string;
  /** BullMQ's own connection (blocking commands, locks). */
  connection: Redis;
  /** Commands of the worker's own: reads the cancel flags. */
  redis: Redis;
  keys: RedisKeys;
  processor: JobProcessor;
  /** Jobs taken at once: the pool's slots. */
  concurrency: number;
  /** True once the worker is closing. */
  shuttingDown: () => boolean;
  logger: Logger;
}

/** The BullMQ `Worker` that takes jobs from the queue and runs them in the processor. */
export function createJobWorker(options: JobWorkerOptions): Worker<JobData, GenerationResult> {
  const { config, redis, keys, processor, logger } = options;
  const isCancelledByClient = async (job: Job) => (await redis.exists(keys.cancelFlag(job.id ?? ''))) === 1;
  const worker = new Worker<JobData, GenerationResult>(
    config.QUEUE_NAME,
    async (job: Job<JobData, GenerationResult>, token?: string) => {
      const result = await processor.process(job);
      // Stopped by shutdown, not by a client: hand the job back instead of reporting a cut-off text.
      if (options.shuttingDown() && result.finish_reason === 'cancelled' && !(await isCancelledByClient(job))) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      return result;
    },
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
