import { Worker, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../core/config.ts';
import { jobLockOptions } from '../core/job-locks.ts';
import { AdmissionTrigger } from '../core/fair/admission-trigger.ts';
import { FairQueue } from '../core/fair/fair-queue.ts';
import type { GenerationResult, JobData } from '../core/job-contract.ts';
import type { RedisKeys } from '../core/keys.ts';
import type { Logger } from '../core/logger.ts';
import { trackJobOutcomes } from '../core/metrics/job-outcomes.ts';
import type { JobProcessor } from './processor.ts';

export interface JobWorkerOptions {
  config: Config;
  /** The queue of the model it serves (`QUEUE_NAME`, or `<QUEUE_NAME>-<id>` with several models). */
  queueName: string;
  /** The model, as metrics label it. */
  model: string;
  /** Keys of that queue's fair schedule (`laneKeys`). */
  fairKeys: RedisKeys;
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
    options.queueName,
    // A job the shutdown stopped goes back to the queue from within (WaitingError), not as a result.
    processor.process,
    {
      connection: options.connection as ConnectionOptions,
      prefix: config.REDIS_PREFIX,
      name: options.workerId,
      concurrency: options.concurrency,
      ...jobLockOptions(config.JOB_LOCK_MS),
      maxStalledCount: config.MAX_STALLED_COUNT,
    },
  );
  worker.on('failed', (job, error) => {
    logger.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: error.message }, 'job failed');
  });
  worker.on('error', (error) => logger.warn({ err: error.message }, 'worker error'));
  trackJobOutcomes(worker, options.model);
  admitOnCompletion(worker, options);
  return worker;
}

/**
 * Fair scheduling (docs/architecture.md): a job that ends, or an attempt that fails, leaves room in
 * the queue's ready set, since BullMQ has already fetched this worker's next job from it by the
 * time the event fires; held jobs are admitted into it from here. The worker sees each of its
 * completions exactly once and at once, where the API's QueueEvents would see every completion in
 * every replica, a round trip later. Promotes go through the Worker's own connection.
 */
function admitOnCompletion(worker: Worker<JobData, GenerationResult>, options: JobWorkerOptions): void {
  const { config, logger } = options;
  const fair = new FairQueue({
    redis: options.connection,
    queue: worker,
    keys: options.fairKeys,
    readyDepth: config.FAIR_READY_DEPTH,
    boostAfterMs: config.MAX_WAIT_BEFORE_BOOST_SECONDS * 1000,
    logger,
  });
  const admission = new AdmissionTrigger(fair, logger);
  const request = () => admission.request();
  worker.on('completed', request);
  worker.on('failed', request);
  worker.once('closing', () => admission.close());
}
