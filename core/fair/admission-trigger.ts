import type { Logger } from '../logger.ts';
import type { FairQueue } from './fair-queue.ts';

export interface AdmissionTriggerOptions {
  /**
   * After an admission that found nothing held, requests are skipped for this long (ms): a worker
   * that completes hundreds of jobs a second then costs Redis a few calls a second, not one per
   * job. A backlog that appears meanwhile waits at most this long for a worker's admission (the
   * ready set is full when a job is held, so the workers have work until then).
   */
  quietMs?: number;
}

const QUIET_MS = 50;

/**
 * Runs admissions when something may have made room in the ready set: at most one at a time per
 * process, and requests that come while one runs make one more run after it, so a burst of
 * completions costs a few admissions, not one each.
 */
export class AdmissionTrigger {
  private running: Promise<void> | undefined;
  private again = false;
  private quietUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly fair: FairQueue,
    private readonly logger: Logger,
    private readonly options: AdmissionTriggerOptions = {},
  ) {}

  /** Admits soon: now, or after the admission under way. */
  request(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (Date.now() < this.quietUntil) return;
    this.running = this.run().finally(() => (this.running = undefined));
  }

  /** Also admits every `ms`, quiet or not: the safety net for every trigger missed (a process that died mid-way). */
  every(ms: number): this {
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      this.quietUntil = 0;
      this.request();
    }, ms);
    // Never holds a process up that is otherwise done.
    this.timer.unref();
    return this;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }

  private async run(): Promise<void> {
    do {
      this.again = false;
      try {
        const { backlogged } = await this.fair.admit();
        this.quietUntil = backlogged === 0 ? Date.now() + (this.options.quietMs ?? QUIET_MS) : 0;
      } catch (error) {
        // Redis away: the next completion or the timer tries again.
        if (!this.closed) this.logger.warn({ err: (error as Error).message }, 'admission of held jobs failed');
        return;
      }
    } while (this.again && !this.closed && Date.now() >= this.quietUntil);
  }
}
