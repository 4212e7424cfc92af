import type { Redis } from 'ioredis';
import type { RedisKeys } from '../../core/keys.ts';
import type { Logger } from '../../core/logger.ts';
import { SYSTEM_VIEWER, type JobService, type SubmitOutcome } from '../job-service.ts';

type Queued = Extract<SubmitOutcome, { kind: 'queued' }>;

/** A connected request's claim on its job, released once: at the answer, or when the client goes away. */
export interface JobHold {
  release(clientGone: boolean): Promise<void>;
}

/**
 * Who may cancel a job when its client disconnects (docs/streaming.md, "Disconnects").
 *
 * A job that cannot be shared (no cache key, so no in-flight sharing) has exactly one client: its
 * disconnect cancels it. A shareable job may serve several identical requests, so connected
 * requests are counted in Redis (every API replica sees the same count) and only the last one to
 * leave cancels it. A request that joins a job no counted request created (a native submitter, who
 * polls and never "disconnects", or a counted creator that has not registered yet) adds a permanent
 * claim for that creator: such a job runs to the end, which errs on the side of finishing work
 * someone may still want.
 */
export class JobHolders {
  constructor(
    private readonly deps: {
      redis: Redis;
      keys: RedisKeys;
      jobs: JobService;
      logger: Logger;
      enabled: boolean;
      ttlSeconds: number;
    },
  ) {}

  async hold(outcome: Queued): Promise<JobHold> {
    const { enabled, redis, keys } = this.deps;
    if (!enabled) return { release: async () => undefined };
    const id = outcome.id;
    if (outcome.job.data.cacheKey === undefined) return this.once(async (gone) => gone && (await this.cancel(id)));

    const key = keys.holders(id);
    try {
      const [[, count]] = (await redis.multi().incr(key).expire(key, this.deps.ttlSeconds).exec()) as [[Error | null, number]];
      if (outcome.coalesced && count === 1) await redis.incr(key);
    } catch (error) {
      // Without a count this request cannot know whether it is alone: it never cancels.
      this.deps.logger.warn({ err: (error as Error).message, jobId: id }, 'could not register a job holder');
      return { release: async () => undefined };
    }
    return this.once(async (gone) => {
      let remaining: number;
      try {
        remaining = await redis.decr(key);
        if (remaining <= 0) await redis.del(key);
      } catch {
        return;
      }
      if (gone && remaining <= 0) await this.cancel(id);
    });
  }

  private once(release: (clientGone: boolean) => Promise<unknown>): JobHold {
    let released = false;
    return {
      release: async (clientGone) => {
        if (released) return;
        released = true;
        await release(clientGone);
      },
    };
  }

  private async cancel(id: string): Promise<void> {
    try {
      await this.deps.jobs.cancel(id, 0, SYSTEM_VIEWER);
      this.deps.logger.info({ jobId: id }, 'client disconnected: job cancelled');
    } catch {
      // Already finished (409) or gone: nothing to stop.
    }
  }
}
