import { Job, type MinimalQueue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../keys.ts';
import type { Logger } from '../logger.ts';
import { GENERATE_JOB } from '../queue.ts';
import { ADMIT, HOLD, MUST_HOLD, WITHDRAW } from './admission-scripts.ts';
import type { LuaScript } from '../lua-script.ts';
import { QueuePositions } from './queue-positions.ts';

export interface FairQueueOptions {
  /** Commands (never a blocking connection). */
  redis: Redis;
  /** BullMQ's handle of the queue: the API's Queue or a worker's Worker. Promotes go through it. */
  queue: MinimalQueue;
  keys: RedisKeys;
  /** `FAIR_READY_DEPTH`; 0: fair scheduling off (nothing is held, and admission releases what was). */
  readyDepth: number;
  /** `MAX_WAIT_BEFORE_BOOST_SECONDS` in ms: the delay of a held job, after which BullMQ promotes it itself. */
  boostAfterMs: number;
  logger: Logger;
}

/** What an admission did. */
export interface Admission {
  /** Held jobs moved into the ready set. */
  admitted: number;
  /** Tenants that still have a backlog: 0 means nothing is held. */
  backlogged: number;
}

/**
 * Fair scheduling between tenants on open-source BullMQ (docs/architecture.md, "Fair scheduling"):
 * the queue's ready set is kept short, and the jobs beyond it wait held (BullMQ delayed jobs) in
 * per-tenant backlogs, from which admission moves them into the ready set round robin. API
 * processes and workers share this one implementation; every decision is one Lua script
 * (admission-scripts.ts), so any number of them may act at once.
 */
export class FairQueue {
  readonly positions: QueuePositions;

  constructor(private readonly options: FairQueueOptions) {
    this.positions = new QueuePositions(options.redis, options.queue, options.keys);
  }

  get enabled(): boolean {
    return this.options.readyDepth > 0;
  }

  /** The `delay` of a held job. */
  get holdDelayMs(): number {
    return this.options.boostAfterMs;
  }

  /**
   * Whether a new job `jobId` of `tenant` must be held: the ready set is full, or the tenant already
   * has held jobs (which a new one must not overtake). Otherwise its place in the ready set is
   * reserved until the job is added. One small script; none when fairness is off.
   */
  async mustHold(tenant: string, jobId: string): Promise<boolean> {
    if (!this.enabled) return false;
    const { redis, queue, keys } = this.options;
    const keyList = [queue.toKey('wait'), queue.toKey('prioritized'), keys.fairAdmitting, keys.fairReserved, keys.fairBacklog(tenant)];
    return (await MUST_HOLD.run(redis, keyList, [this.options.readyDepth, queue.toKey(''), jobId])) === 1;
  }

  /** Gives back the place `mustHold` reserved for a job that will not be added (its request was refused). */
  async release(jobId: string): Promise<void> {
    if (!this.enabled) return;
    await this.options.redis.zrem(this.options.keys.fairReserved, jobId);
  }

  /** Puts a job just added as held into its tenant's backlog, then admits what fits. */
  async hold(id: string, tenant: string, priority: number): Promise<Admission> {
    return await this.run(HOLD, [id, tenant, priority]);
  }

  /** Admits held jobs while the ready set has room, the tenant served least first. */
  async admit(): Promise<Admission> {
    return await this.run(ADMIT, []);
  }

  /**
   * Forgets a job removed from the queue (a cancel) and fills the room it may have left. Never
   * throws: an entry left behind is dropped by the next admission, which finds its job gone.
   */
  async withdraw(id: string): Promise<void> {
    await this.run(WITHDRAW, [id]).catch((error: unknown) => {
      this.options.logger.warn({ jobId: id, err: (error as Error).message }, 'could not withdraw a job from its backlog');
    });
  }

  private async run(script: LuaScript, args: (string | number)[]): Promise<Admission> {
    const { redis, queue, keys } = this.options;
    const keyList = [
      queue.toKey('wait'),
      queue.toKey('prioritized'),
      queue.toKey('delayed'),
      keys.fairTenants,
      keys.fairHeld,
      keys.fairAdmitting,
      keys.fairReserved,
    ];
    const reply = (await script.run(redis, keyList, [this.options.readyDepth, keys.fairBacklogPrefix, queue.toKey(''), ...args])) as [number, ...string[]];
    const [backlogged, ...ids] = reply;
    return { admitted: await this.promote(ids), backlogged };
  }

  /**
   * BullMQ's own promote moves each job from delayed into the ready set at its priority, in the
   * order admission chose (one connection keeps the order). A job promoted meanwhile by its boost,
   * or removed, refuses; its mark as admitted stays until the next admission sees that it is no
   * longer delayed. One whose promote failed otherwise (Redis away) is promoted again by an
   * admission 10 s on.
   */
  private async promote(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const { queue, redis, keys } = this.options;
    const outcomes = await Promise.allSettled(ids.map((id) => new Job(queue, GENERATE_JOB, {}, {}, id).promote()));
    const promoted = ids.filter((_, i) => outcomes[i]?.status === 'fulfilled');
    if (promoted.length > 0) await redis.zrem(keys.fairAdmitting, ...promoted);
    return promoted.length;
  }
}
