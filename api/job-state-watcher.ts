import type { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../core/logger.ts';
import type { GenerateQueue } from '../core/queue.ts';

/** One client's interest in a job's state. */
export interface JobWatch {
  /** The job has been learnt to have finished (completed, failed) or to be gone; read it to know which. */
  readonly settled: boolean;
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
  waiters: Set<() => void>;
}

export interface JobStateWatcherOptions {
  /** Interval of the check of every followed job that has not settled (ms): the safety net for missed events. */
  sweepMs?: number;
  /** Delay of the check of newly followed jobs (ms), which covers a job that finished just before it was followed. */
  freshMs?: number;
}

const SWEEP_MS = 5000;
const FRESH_MS = 250;
/** Jobs per script call: each costs three O(1) reads, so a call never holds Redis up for long. */
const CHUNK = 500;

/**
 * For each job: 1 when its hash is gone or it sits in the completed or failed set, else 0 (the test
 * BullMQ's own isFinished makes, for many jobs in one call). KEYS: completed, failed, then one job
 * hash per id in ARGV.
 */
const FINISHED_OR_GONE = `
local out = {}
for i, id in ipairs(ARGV) do
  if redis.call('EXISTS', KEYS[i + 2]) == 0
    or redis.call('ZSCORE', KEYS[1], id)
    or redis.call('ZSCORE', KEYS[2], id) then
    out[i] = 1
  else
    out[i] = 0
  end
end
return out`;

/**
 * What this API process knows about the jobs its clients follow: which have finished or gone. A
 * client waiting on a job asks it, in memory, instead of reading the job from Redis whenever its
 * stream is quiet, so a waiting client costs Redis nothing.
 *
 * It learns from BullMQ's queue events, which the process reads anyway (one subscription, fanned
 * out here to every job followed), and, should an event be missed (a QueueEvents reconnect that
 * outlived the event stream's cap, a job removed by retention, which announces nothing), from one
 * periodic check of all followed jobs together, one script call per 500 jobs, however many
 * clients follow them.
 */
export class JobStateWatcher {
  private readonly followed = new Map<string, Followed>();
  /** Followed since the last check, or unsettled: checked after `freshMs`. */
  private readonly fresh = new Set<string>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private freshTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly onEvent = ({ jobId }: { jobId: string }) => this.settle(jobId);

  constructor(
    private readonly deps: { events: QueueEvents; queue: GenerateQueue; redis: Redis; logger: Logger },
    private readonly options: JobStateWatcherOptions = {},
  ) {
    // `failed` is announced only for a job's last attempt; a retried job stays unsettled.
    deps.events.on('completed', this.onEvent);
    deps.events.on('failed', this.onEvent);
    deps.events.on('removed', this.onEvent);
  }

  /** Jobs followed now (by at least one watch). */
  get size(): number {
    return this.followed.size;
  }

  watch(jobId: string): JobWatch {
    let entry = this.followed.get(jobId);
    if (!entry) {
      this.followed.set(jobId, (entry = { watches: 0, settled: false, waiters: new Set() }));
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
        for (const wake of [...followed.waiters]) wake();
      },
    };
  }

  close(): void {
    this.closed = true;
    this.deps.events.off('completed', this.onEvent);
    this.deps.events.off('failed', this.onEvent);
    this.deps.events.off('removed', this.onEvent);
    clearTimeout(this.sweepTimer);
    clearTimeout(this.freshTimer);
    for (const entry of this.followed.values()) for (const wake of [...entry.waiters]) wake();
    this.followed.clear();
    this.fresh.clear();
  }

  private settle(jobId: string): void {
    const entry = this.followed.get(jobId);
    if (!entry || entry.settled) return;
    entry.settled = true;
    this.fresh.delete(jobId);
    for (const wake of [...entry.waiters]) wake();
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

  private async sweep(): Promise<void> {
    await this.check([...this.followed].filter(([, entry]) => !entry.settled).map(([id]) => id));
    this.sweepTimer = undefined;
    if (this.followed.size > 0 && !this.closed) this.sweepTimer = this.schedule(() => this.sweep(), this.options.sweepMs ?? SWEEP_MS);
  }

  private async check(ids: string[]): Promise<void> {
    const { queue, redis } = this.deps;
    for (let start = 0; start < ids.length && !this.closed; start += CHUNK) {
      const chunk = ids.slice(start, start + CHUNK);
      try {
        const keys = [queue.toKey('completed'), queue.toKey('failed'), ...chunk.map((id) => queue.toKey(id))];
        const finished = (await redis.eval(FINISHED_OR_GONE, keys.length, ...keys, ...chunk)) as number[];
        chunk.forEach((id, i) => finished[i] === 1 && this.settle(id));
      } catch (error) {
        // Redis away: the next sweep looks again (and events may tell first).
        this.deps.logger.warn({ err: (error as Error).message, jobs: chunk.length }, 'could not check the state of followed jobs');
      }
    }
  }
}
