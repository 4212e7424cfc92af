import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../core/logger.ts';
import type { CancelListener } from './cancel-listener.ts';
import type { Heartbeat } from './heartbeat.ts';
import type { InferencePool } from './inference-pool.ts';
import type { JobProcessor } from './processor.ts';

/** Everything a worker holds, released here in the order that loses no job. */
export interface WorkerParts {
  worker: Pick<Worker, 'close'>;
  processor: Pick<JobProcessor, 'activeJobIds' | 'handBackAll'>;
  heartbeat: Heartbeat;
  cancels: CancelListener;
  pool: Pick<InferencePool, 'close'>;
  untrackPool: () => void;
  /** BullMQ's connection. */
  bullConnection: Redis;
  /** The worker's own commands (heartbeat, cancel flags). */
  redis: Redis;
  logger: Logger;
}

/**
 * Stops taking jobs and lets active ones finish for `graceMs`; then stops the rest, which the
 * processor hands back to the queue. The pool and connections go only once BullMQ has let go of
 * every job.
 */
export async function shutDownWorker(parts: WorkerParts, graceMs: number): Promise<void> {
  const { processor, logger } = parts;
  parts.heartbeat.stop();
  const drained = parts.worker.close();
  const timer = setTimeout(() => {
    if (processor.activeJobIds.length > 0) {
      logger.warn({ jobs: processor.activeJobIds }, 'grace period over: handing active jobs back to the queue');
    }
    processor.handBackAll();
  }, graceMs);
  await drained;
  clearTimeout(timer);
  await parts.heartbeat.withdraw();
  parts.untrackPool();
  await parts.pool.close();
  parts.cancels.close();
  await parts.bullConnection.quit().catch(() => undefined);
  await parts.redis.quit().catch(() => undefined);
}
