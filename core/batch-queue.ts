import { Queue, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';

/**
 * The queue of batch coordinators (docs/batches.md): one job per unfinished batch, its id the
 * batch's id, taken by one API process at a time. Bull Board shows it next to the generation queue.
 */

/** What a coordinator job carries: the batch it runs, and whose it is. */
export interface BatchJobData {
  batchId: string;
  tenant: string;
}

/** The name of coordinator jobs. */
export const BATCH_JOB = 'batch';

export type BatchQueue = Queue<BatchJobData, void, typeof BATCH_JOB>;

/** Next to the generation queue it feeds: `<QUEUE_NAME>-batches`. */
export function batchQueueName(config: Pick<Config, 'QUEUE_NAME'>): string {
  return `${config.QUEUE_NAME}-batches`;
}

export function createBatchQueue(config: Config, connection: Redis): BatchQueue {
  return new Queue<BatchJobData, void, typeof BATCH_JOB>(batchQueueName(config), {
    connection: connection as ConnectionOptions,
    prefix: config.REDIS_PREFIX,
    // A coordinator that throws (Redis away) is tried again; past that, the coordinators' sweep starts it anew.
    defaultJobOptions: { attempts: 10, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: true },
  });
}
