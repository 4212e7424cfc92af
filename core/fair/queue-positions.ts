import type { MinimalQueue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../keys.ts';
import { FINISHED_OR_GONE, NOT_WAITING, POSITIONS } from './position-script.ts';

/** A job's place: jobs that run before it while it waits; `finished` once it completed, failed or is gone; undefined while it runs. */
export type QueuePosition = number | 'finished' | undefined;

/** Ids per script call: each costs a handful of reads, so one call never holds Redis up for long. */
const CHUNK = 500;

/** Reads queue positions under the fair schedule (position-script.ts), many jobs per call. */
export class QueuePositions {
  constructor(
    private readonly redis: Redis,
    /** BullMQ's handle of the queue (a Queue or a Worker): its key names. */
    private readonly queue: MinimalQueue,
    private readonly keys: RedisKeys,
  ) {}

  async read(ids: readonly string[]): Promise<QueuePosition[]> {
    const out: QueuePosition[] = [];
    const keys = [
      this.queue.toKey('wait'),
      this.queue.toKey('prioritized'),
      this.queue.toKey('delayed'),
      this.keys.fairTenants,
      this.keys.fairHeld,
      this.keys.fairAdmitting,
      this.queue.toKey('completed'),
      this.queue.toKey('failed'),
      this.keys.fairReserved,
    ];
    for (let start = 0; start < ids.length; start += CHUNK) {
      const chunk = ids.slice(start, start + CHUNK);
      const reply = (await POSITIONS.run(this.redis, keys, [this.keys.fairBacklogPrefix, this.queue.toKey(''), ...chunk])) as number[];
      for (const figure of reply) out.push(figure === FINISHED_OR_GONE ? 'finished' : figure === NOT_WAITING ? undefined : figure);
    }
    return out;
  }

  /** One job's position; undefined unless it waits. */
  async of(id: string): Promise<number | undefined> {
    const [position] = await this.read([id]);
    return typeof position === 'number' ? position : undefined;
  }
}
