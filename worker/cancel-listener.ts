import type { RedisKeys } from '../core/keys.ts';
import type { Logger } from '../core/logger.ts';
import { createRedis } from '../core/redis.ts';
import type { RedisTarget } from '../core/redis-target.ts';
import type { JobProcessor } from './processor.ts';

export interface CancelListener {
  close(): void;
}

/**
 * Cancellations are broadcast to every worker on one channel, as the API cannot know which worker
 * holds a job; the one whose processor runs it stops it. A subscribed connection can send nothing
 * else, hence one of its own.
 */
export async function listenForCancels(
  target: RedisTarget,
  keys: RedisKeys,
  processor: Pick<JobProcessor, 'cancel'>,
  logger: Logger,
): Promise<CancelListener> {
  const subscriber = createRedis(target, 'worker', logger, 'worker-cancel');
  await subscriber.subscribe(keys.cancelChannel);
  subscriber.on('message', (_channel: string, jobId: string) => {
    if (processor.cancel(jobId)) logger.info({ jobId }, 'cancelling active job');
  });
  return { close: () => subscriber.disconnect() };
}
