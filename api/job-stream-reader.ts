import type { Redis } from 'ioredis';
import { decodeStreamEvent, type JobStreamEvent } from '../core/contract/stream-events.ts';
import type { RedisKeys } from '../core/keys.ts';

export interface JobStreamEntry {
  /** Redis Stream entry id; SSE clients get it as the event id to resume from. */
  id: string;
  event: JobStreamEvent;
}

/** Reading position in one job's stream. `next` waits for entries after the last one returned. */
export interface JobStreamCursor {
  /** Entries after the last returned (the first call replays the stream); [] if none came within `waitMs`. */
  next(waitMs: number): Promise<JobStreamEntry[]>;
  close(): void;
}

interface Subscription {
  key: string;
  lastId: string;
  buffer: JobStreamEntry[];
  wake: (() => void) | undefined;
}

const REPLAY_BATCH = 1000;

/**
 * Follows job streams for every SSE client of this API process over ONE blocking Redis connection.
 *
 * A client first replays what its job's stream holds (XRANGE, on the shared command connection),
 * then waits for new entries: one loop runs `XREAD BLOCK` over the streams of all waiting clients
 * on a dedicated connection and hands each entry to the clients of its stream. A client that
 * arrives while that XREAD is blocked interrupts it (`CLIENT UNBLOCK`) so its stream is included
 * at once. So a thousand streaming clients cost one connection, not a thousand, and the shared
 * command connection is never blocked.
 */
export class JobStreamReader {
  private readonly subscriptions = new Map<string, Set<Subscription>>();
  private blocking: Redis | undefined;
  private blockingClientId: number | undefined;
  private loop: Promise<void> | undefined;
  /** Bumped whenever the set of followed streams changes; a blocked XREAD over an older set is interrupted. */
  private version = 0;
  private readVersion = -1;
  private reading = false;
  private closed = false;

  constructor(
    private readonly deps: {
      commands: Redis;
      /** Opens the dedicated blocking connection (retrying forever), on first use. */
      connectBlocking: () => Redis;
      keys: RedisKeys;
      /** Longest single XREAD block (ms): the worst-case delay should an interruption be missed. */
      blockMs?: number;
    },
  ) {}

  open(jobId: string, afterId = '0'): JobStreamCursor {
    const sub: Subscription = { key: this.deps.keys.stream(jobId), lastId: afterId, buffer: [], wake: undefined };
    let replayed = false;
    let closed = false;
    return {
      next: async (waitMs) => {
        if (closed) return [];
        if (!replayed) {
          replayed = true;
          await this.replay(sub);
          if (closed) return [];
          this.add(sub);
        }
        if (sub.buffer.length === 0 && waitMs > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, waitMs);
            function done() {
              clearTimeout(timer);
              sub.wake = undefined;
              resolve();
            }
            sub.wake = done;
          });
        }
        return sub.buffer.splice(0);
      },
      close: () => {
        closed = true;
        sub.wake?.();
        this.remove(sub);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const subs of this.subscriptions.values()) for (const sub of subs) sub.wake?.();
    this.subscriptions.clear();
    this.blocking?.disconnect();
    await this.loop;
  }

  private async replay(sub: Subscription): Promise<void> {
    for (;;) {
      const start = sub.lastId === '0' ? '-' : `(${sub.lastId}`;
      const entries = await this.deps.commands.xrange(sub.key, start, '+', 'COUNT', REPLAY_BATCH);
      for (const [id, fields] of entries) deliver(sub, id, fields);
      if (entries.length < REPLAY_BATCH) return;
    }
  }

  private add(sub: Subscription): void {
    if (this.closed) return;
    let subs = this.subscriptions.get(sub.key);
    if (!subs) this.subscriptions.set(sub.key, (subs = new Set()));
    subs.add(sub);
    this.version += 1;
    this.ensureLoop();
    void this.interrupt();
  }

  /** Starts the read loop unless it runs; it stops by itself when no client is left. */
  private ensureLoop(): void {
    if (this.loop || this.closed) return;
    this.loop = this.run().finally(() => {
      this.loop = undefined;
      // A client may have arrived between the loop's last check and now.
      if (this.subscriptions.size > 0) this.ensureLoop();
    });
  }

  private remove(sub: Subscription): void {
    const subs = this.subscriptions.get(sub.key);
    if (!subs?.delete(sub)) return;
    if (subs.size === 0) this.subscriptions.delete(sub.key);
    this.version += 1;
  }

  private async run(): Promise<void> {
    while (!this.closed && this.subscriptions.size > 0) {
      const redis = (this.blocking ??= this.deps.connectBlocking());
      let onClose: (() => void) | undefined;
      try {
        this.blockingClientId ??= await redis.client('ID');
        const keys = [...this.subscriptions.keys()];
        const ids = keys.map((key) => oldest(this.subscriptions.get(key) ?? []));
        this.readVersion = this.version;
        this.reading = true;
        const read = redis.xread('COUNT', REPLAY_BATCH, 'BLOCK', this.deps.blockMs ?? 5000, 'STREAMS', ...keys, ...ids);
        // A dropped connection would re-send this read on a new Redis client whose id we do not
        // know (so could not interrupt): start afresh on a new connection instead.
        const dropped = new Promise<'dropped'>((resolve) => redis.once('close', (onClose = () => resolve('dropped'))));
        const reply = await Promise.race([read, dropped]);
        this.reading = false;
        if (reply === 'dropped') {
          read.catch(() => undefined);
          this.abandon(redis);
          continue;
        }
        for (const [key, entries] of reply ?? []) {
          for (const sub of this.subscriptions.get(key) ?? []) {
            for (const [id, fields] of entries) deliver(sub, id, fields);
            if (sub.buffer.length > 0) sub.wake?.();
          }
        }
      } catch {
        this.reading = false;
        if (!this.closed) await new Promise((resolve) => setTimeout(resolve, 100));
      } finally {
        if (onClose) redis.off('close', onClose);
      }
    }
  }

  private abandon(redis: Redis): void {
    redis.disconnect();
    if (this.blocking !== redis) return;
    this.blocking = undefined;
    this.blockingClientId = undefined;
  }

  /**
   * Interrupts a blocked XREAD that does not cover the current streams. The XREAD may not have
   * reached Redis yet (CLIENT UNBLOCK then answers 0), so it is retried briefly.
   */
  private async interrupt(): Promise<void> {
    for (let attempt = 0; attempt < 12; attempt++) {
      if (this.closed || !this.reading || this.readVersion === this.version) return;
      const id = this.blockingClientId;
      if (id === undefined) return;
      const unblocked = await this.deps.commands.client('UNBLOCK', id).catch(() => 0);
      if (unblocked === 1) return;
      await new Promise((resolve) => setTimeout(resolve, 2 ** attempt));
    }
  }
}

function deliver(sub: Subscription, id: string, fields: string[]): void {
  if (compareIds(id, sub.lastId) <= 0) return;
  sub.lastId = id;
  const event = decodeStreamEvent(fields);
  if (event) sub.buffer.push({ id, event });
}

/** The position to read a stream from for several clients: the least advanced one. */
function oldest(subs: Iterable<Subscription>): string {
  let min: string | undefined;
  for (const sub of subs) if (min === undefined || compareIds(sub.lastId, min) < 0) min = sub.lastId;
  return min ?? '0';
}

/** Orders Redis Stream ids (`<ms>-<seq>`, or `0`). */
export function compareIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split('-').map(BigInt);
  const [bMs = 0n, bSeq = 0n] = b.split('-').map(BigInt);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}
