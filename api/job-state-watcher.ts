import type { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { QueuePositions, type QueuePosition } from '../core/fair/queue-positions.ts';
import { redisKeys } from '../core/keys.ts';
import type { Logger } from '../core/logger.ts';
import type { GenerateQueue } from '../core/queue.ts';

/** One client's interest in a job's state. */
export interface JobWatch {
  /** The job has been learnt to have finished (completed, failed) or to be gone; read it to know which. */
  readonly settled: boolean;
  /**
   * While the job waits: the jobs that run before it under the fair schedule, as of the last
   * check; undefined before the first check and once it runs.
   */
  readonly position: number | undefined;
  /** Resolves once `settled` (at once if it is), or when `signal` aborts, or the watcher closes. */
  whenSettled(signal?: AbortSignal): Promise<void>;
  /**
   * A read of the job after it settled found it running after all (a finished job retried, or a
   * stale check): forget it, and look again soon.
   */
  unsettle(): void;
  close(): void;
}

interface Followed {
  watches: number;
  settled: boolean;
  position: number | undefined;
  waiters: Set<() => void>;
}

export interface JobStateWatcherOptions {
  /** Interval of the check of every followed job that has not settled (ms): the safety net for missed events. */
  sweepMs?: number;
  /** Delay of the check of newly followed jobs (ms), which covers a job that finished just before it was followed. */
  freshMs?: number;
  /** Delay of the check of waiting jobs' positions after the queue moved (a job finished): at most one per this many ms. */
  positionMs?: number;
}

const SWEEP_MS = 5000;
const FRESH_MS = 250;
const POSITION_MS = 1000;

/**
 * What this API process knows about the jobs its clients follow: which have finished or gone, and
 * where waiting ones stand in the queue. A client waiting on a job asks it, in memory, instead of
 * reading the job from Redis whenever its stream is quiet, so a waiting client costs Redis nothing.
 *
 * It learns from BullMQ's queue events, which the process reads anyway (one subscription, fanned
 * out here to every job followed), and, should an event be missed (a QueueEvents reconnect that
 * outlived the event stream's cap, a job removed by retention, which announces nothing), from one
 * periodic check of all followed jobs together, one script call per 500 jobs, however many
 * clients follow them. The same check reads the queue positions of the waiting ones
 * (core/fair/position-script.ts); after the queue moves, those are read again, at most once a
 * `positionMs`.
 */
export class JobStateWatcher {
  private readonly followed = new Map<string, Followed>();
  /** Followed since the last check, or unsettled: checked after `freshMs`. */
  private readonly fresh = new Set<string>();
  /** Followed jobs last seen waiting (with a position). */
  private readonly waiting = new Set<string>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private freshTimer: NodeJS.Timeout | undefined;
  private positionTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Each model's queue's positions: a job is in one of them. */
  private readonly positions: QueuePositions[];
  private readonly events: QueueEvents[];
  private readonly onEvent = ({ jobId }: { jobId: string }) => {
    this.settle(jobId);
    // Every job behind a finished one moved up: look again soon, once for all of them.
    if (this.waiting.size > 0 && !this.closed) this.positionTimer ??= this.schedule(() => this.checkPositions(), this.options.positionMs ?? POSITION_MS);
  };

  constructor(
    private readonly deps: {
      events: QueueEvents;
      queue: GenerateQueue;
      redis: Redis;
      logger: Logger;
      /** Where the fair schedule's keys are: by default, under the queue's own prefix (as REDIS_PREFIX puts them). */
      positions?: QueuePositions;
      /** The other models' queues, when there are several (docs/models.md): their events and positions. */
      others?: readonly { events: QueueEvents; positions: QueuePositions }[];
    },
    private readonly options: JobStateWatcherOptions = {},
  ) {
    const others = deps.others ?? [];
    this.positions = [deps.positions ?? new QueuePositions(deps.redis, deps.queue, redisKeys(deps.queue.opts.prefix ?? 'bull')), ...others.map((o) => o.positions)];
    this.events = [deps.events, ...others.map((o) => o.events)];
    // `failed` is announced only for a job's last attempt; a retried job stays unsettled.
    for (const events of this.events) {
      events.on('completed', this.onEvent);
      events.on('failed', this.onEvent);
      events.on('removed', this.onEvent);
    }
  }

  /** Jobs followed now (by at least one watch). */
  get size(): number {
    return this.followed.size;
  }

  watch(jobId: string): JobWatch {
    let entry = this.followed.get(jobId);
    if (!entry) {
      this.followed.set(jobId, (entry = { watches: 0, settled: false, position: undefined, waiters: new Set() }));
      this.markFresh(jobId);
      this.sweepTimer ??= this.schedule(() => this.sweep(), this.options.sweepMs ?? SWEEP_MS);
    }
    entry.watches += 1;
    const followed = entry;
    let closed = false;
    return {
      get settled() {
        return followed.settled;
      },
      get position() {
        return followed.position;
      },
      whenSettled: (signal) => {
        if (followed.settled || closed || this.closed || signal?.aborted) return Promise.resolve();
        return new Promise<void>((resolve) => {
          const done = () => {
            followed.waiters.delete(done);
            signal?.removeEventListener('abort', done);
            resolve();
          };
          followed.waiters.add(done);
          signal?.addEventListener('abort', done, { once: true });
        });
      },
      unsettle: () => {
        if (closed || !followed.settled) return;
        followed.settled = false;
        this.markFresh(jobId);
      },
      close: () => {
        if (closed) return;
        closed = true;
        followed.watches -= 1;
        if (followed.watches > 0) return;
        if (this.followed.get(jobId) === followed) this.followed.delete(jobId);
        this.fresh.delete(jobId);
        this.waiting.delete(jobId);
        for (const wake of [...followed.waiters]) wake();
      },
    };
  }

  close(): void {
    this.closed = true;
    for (const events of this.events) {
      events.off('completed', this.onEvent);
      events.off('failed', this.onEvent);
      events.off('removed', this.onEvent);
    }
    clearTimeout(this.sweepTimer);
    clearTimeout(this.freshTimer);
    clearTimeout(this.positionTimer);
    for (const entry of this.followed.values()) for (const wake of [...entry.waiters]) wake();
    this.followed.clear();
    this.fresh.clear();
    this.waiting.clear();
  }

  private settle(jobId: string): void {
    const entry = this.followed.get(jobId);
    if (!entry || entry.settled) return;
    entry.settled = true;
    this.place(jobId, entry, undefined);
    this.fresh.delete(jobId);
    for (const wake of [...entry.waiters]) wake();
  }

  private place(jobId: string, entry: Followed, position: number | undefined): void {
    entry.position = position;
    if (position === undefined) this.waiting.delete(jobId);
    else this.waiting.add(jobId);
  }

  private markFresh(jobId: string): void {
    this.fresh.add(jobId);
    this.freshTimer ??= this.schedule(() => this.checkFresh(), this.options.freshMs ?? FRESH_MS);
  }

  private schedule(run: () => Promise<void>, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => void run(), ms);
    // Timers of a watcher never hold a process up that is otherwise done.
    timer.unref();
    return timer;
  }

  private async checkFresh(): Promise<void> {
    const ids = [...this.fresh];
    this.fresh.clear();
    await this.check(ids);
    this.freshTimer = undefined;
    if (this.fresh.size > 0 && !this.closed) this.freshTimer = this.schedule(() => this.checkFresh(), this.options.freshMs ?? FRESH_MS);
  }

  private async checkPositions(): Promise<void> {
    await this.check([...this.waiting]);
    this.positionTimer = undefined;
  }

  private async sweep(): Promise<void> {
    await this.check([...this.followed].filter(([, entry]) => !entry.settled).map(([id]) => id));
    this.sweepTimer = undefined;
    if (this.followed.size > 0 && !this.closed) this.sweepTimer = this.schedule(() => this.sweep(), this.options.sweepMs ?? SWEEP_MS);
  }

  /** One script call per 500 jobs (QueuePositions), however many clients follow each. */
  private async check(ids: string[]): Promise<void> {
    if (ids.length === 0 || this.closed) return;
    try {
      const positions = await readPositions(this.positions, ids);
      ids.forEach((id, i) => {
        const position = positions[i];
        const entry = this.followed.get(id);
        if (position === 'finished') this.settle(id);
        else if (entry && !entry.settled) this.place(id, entry, position);
      });
    } catch (error) {
      // Redis away: the next sweep looks again (and events may tell first).
      this.deps.logger.warn({ err: (error as Error).message, jobs: ids.length }, 'could not check the state of followed jobs');
    }
  }
}

/**
 * Positions of jobs that may be in any of several queues: a job is where some queue has it waiting
 * or running; `finished` only when every queue says it is finished or gone.
 */
async function readPositions(queues: readonly QueuePositions[], ids: string[]): Promise<QueuePosition[]> {
  const [first, ...rest] = await Promise.all(queues.map((positions) => positions.read(ids)));
  if (!first) return [];
  return first.map((position, i) => {
    if (position !== 'finished') return position;
    const elsewhere = rest.map((read) => read[i]).find((other) => other !== 'finished');
    return rest.length === 0 || rest.every((read) => read[i] === 'finished') ? 'finished' : elsewhere;
  });
}
