/**
 * The progress of one batch on stderr: a bar redrawn in place on a terminal, plain lines every few
 * seconds anywhere else (CI logs, `2> file`), where carriage returns would pile up unreadably.
 */
import { countsOf, type Batch } from './batch-object.ts';
import { addSample, plainLine, plainLineDue, progressState, ttyLine, type Sample } from './progress.ts';

/** What the display writes to: process.stderr, or a fake in tests. */
export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class ProgressDisplay {
  private samples: Sample[] = [];
  private lastPlain: { at: number; status: string } | undefined;
  /** A terminal line is on screen without its newline. */
  private drawn = false;

  constructor(
    private readonly out: Output,
    private readonly id: string,
    private readonly now: () => number = () => performance.now(),
  ) {}

  private get tty(): boolean {
    return this.out.isTTY === true;
  }

  update(batch: Batch): void {
    const at = this.now();
    const counts = countsOf(batch);
    this.samples = addSample(this.samples, { at, done: counts.completed + counts.failed });
    const state = progressState(batch.status, counts, this.samples);
    if (this.tty) {
      this.out.write(`\r${ttyLine(state, this.out.columns || 80)}\x1b[K`);
      this.drawn = true;
    } else if (plainLineDue(this.lastPlain, at, batch.status)) {
      this.out.write(`${plainLine(this.id, state)}\n`);
      this.lastPlain = { at, status: batch.status };
    }
  }

  /** A line of its own (a retry, a warning); on a terminal the bar comes back at the next update. */
  note(message: string): void {
    this.clear();
    this.out.write(`${message}\n`);
  }

  /** Leaves the last bar on screen, on its own line. */
  finish(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }

  /** Takes the bar off the screen (before an interruption's message, say). */
  clear(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }
}
