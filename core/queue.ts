import { Queue, QueueEvents, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import type { GenerationResult, JobData } from './job-contract.ts';

/** Job name of every generation job (chat and completion alike). */
export const GENERATE_JOB = 'generate';
/**
 * Job name of embedding jobs, in the same queue: only for people reading Bull Board; workers go by
 * the job's data (`JobData.embed`), which is the contract.
 */
export const EMBED_JOB = 'embed';
export type JobName = typeof GENERATE_JOB | typeof EMBED_JOB;

export type GenerateQueue = Queue<JobData, GenerationResult, JobName>;

/** Attempts with exponential backoff for transient failures; retention by age and count. */
export function defaultJobOptions(config: Config): JobsOptions {
  return {
    attempts: config.JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.JOB_BACKOFF_MS },
    removeOnComplete: { age: config.KEEP_COMPLETED_SECONDS, count: config.KEEP_COMPLETED_COUNT },
    removeOnFail: { age: config.KEEP_FAILED_SECONDS, count: config.KEEP_FAILED_COUNT },
  };
}

/** What BullMQ gives that holds connections: a Queue, QueueEvents or Worker. */
export interface BullmqClient {
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Closes a BullMQ queue, queue events or worker once its connections have finished starting.
 * BullMQ (5.81) closing a connection that is still starting makes the start fail after it has
 * removed the connection's error listeners: the failure escapes as an unhandled rejection, which
 * ends a Node process. A process stopped just after it started, or a model unloaded just after
 * its worker began, would meet it. The wait is bounded: with Redis away the start may never end,
 * and closing must not hang on it.
 */
export async function closeWhenStarted(client: BullmqClient, boundMs = 2000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([client.waitUntilReady().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, boundMs)))]);
  clearTimeout(timer);
  await client.close();
}

/** A generation queue: QUEUE_NAME by default, or one model's (`CatalogueModel.queue`). */
export function createQueue(config: Config, connection: Redis, name: string = config.QUEUE_NAME): GenerateQueue {
  return new Queue<JobData, GenerationResult, JobName>(name, {
    connection: connection as ConnectionOptions,
    prefix: config.REDIS_PREFIX,
    defaultJobOptions: defaultJobOptions(config),
    // Recorded in the queue's meta key, where workers read it too.
    streams: { events: { maxLen: config.QUEUE_EVENTS_MAX_LEN } },
  });
}

/** Queue events need a blocking connection of their own (BullMQ duplicates the one given). */
export function createQueueEvents(config: Config, connection: Redis, name: string = config.QUEUE_NAME): QueueEvents {
  return new QueueEvents(name, {
    connection: connection as ConnectionOptions,
    prefix: config.REDIS_PREFIX,
  });
}
