import type { RequestHandler } from 'express';
import { unavailable } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';

/** Reads the number of jobs waiting for a worker (one Redis round trip). */
export type DepthReader = () => Promise<number>;

/** How long one reading of the queue depth is used; a busy API reads it once per interval, not per request. */
export const DEPTH_REFRESH_MS = 1000;
/** A reading this many intervals old is no longer used while a fresh one is read. */
const STALE_LIMIT = 5;
/** What a refused client is told: the queue drains in seconds when workers run at all. */
export const QUEUE_FULL_RETRY_AFTER_SECONDS = 5;

/**
 * The queue depth as the API sees it between readings: the last reading plus the submissions this
 * process let through since, so one replica cannot overshoot the limit during a burst. Requests
 * that are refused later (a 400, a cache hit) make the estimate high until the next reading,
 * never low.
 */
export class QueueDepthGauge {
  private reading: number | undefined;
  private readAt = Number.NEGATIVE_INFINITY;
  /** Submissions let through by this process, ever; and how many of them came before the reading began. */
  private admittedTotal = 0;
  private admittedBeforeReading = 0;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly read: DepthReader,
    private readonly logger: Logger,
    private readonly refreshMs = DEPTH_REFRESH_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The estimated depth, or undefined when it cannot be read (Redis away: other checks answer 503).
   * A reading older than the interval is refreshed in the background while requests go on with the
   * estimate; only a missing reading, or one older than `STALE_LIMIT` intervals (an API that sat
   * idle), is waited for.
   */
  async depth(): Promise<number | undefined> {
    const age = this.now() - this.readAt;
    if (age >= this.refreshMs) {
      this.pending ??= this.refresh();
      if (this.reading === undefined || age >= this.refreshMs * STALE_LIMIT) await this.pending;
    }
    // A submission let through while the reading was under way may be counted twice: high, never low.
    return this.reading === undefined ? undefined : this.reading + this.admittedTotal - this.admittedBeforeReading;
  }

  admitted(): void {
    this.admittedTotal += 1;
  }

  private async refresh(): Promise<void> {
    try {
      const startedAt = this.now();
      const admittedBefore = this.admittedTotal;
      const depth = await this.read();
      this.reading = depth;
      this.readAt = startedAt;
      this.admittedBeforeReading = admittedBefore;
    } catch (error) {
      this.reading = undefined;
      this.readAt = this.now();
      this.logger.debug({ err: (error as Error).message }, 'queue depth unreadable');
    } finally {
      this.pending = undefined;
    }
  }
}

/**
 * Backpressure: every POST submits work, and while more than `maxDepth` jobs wait, submissions get
 * 503 with Retry-After instead of growing the queue without bound. Reads, polls and cancellations
 * still pass, so clients can follow and trim what is queued.
 */
export function backpressure(gauge: QueueDepthGauge, maxDepth: number): RequestHandler {
  if (maxDepth === 0) return (_req, _res, next) => next();
  return async (req, _res, next) => {
    if (req.method !== 'POST') {
      next();
      return;
    }
    const depth = await gauge.depth();
    if (depth !== undefined && depth >= maxDepth) {
      next(unavailable('queue_full', `the queue is full (${maxDepth} jobs waiting); retry later`, QUEUE_FULL_RETRY_AFTER_SECONDS));
      return;
    }
    gauge.admitted();
    next();
  };
}
