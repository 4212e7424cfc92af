import type { TokenLogprob } from '../../core/contract/logprobs.ts';

/**
 * The logprob entries of a streamed job, sent to one client alongside its text. Like the text
 * (AppendOnlyText), a new attempt of the job replays its entries from the start: only those
 * beyond what was sent go out. The result's entries are authoritative at the end.
 */
export class SentLogprobs {
  private attempt: TokenLogprob[] = [];
  private sent = 0;

  restart(): void {
    this.attempt = [];
  }

  add(entries: readonly TokenLogprob[] | undefined): void {
    if (entries) this.attempt.push(...entries);
  }

  /** The entries not sent yet, to go with the next text; undefined when there are none. */
  take(): TokenLogprob[] | undefined {
    return this.rest(this.attempt);
  }

  /** The entries of `all` (the result's) not sent yet; undefined when there are none. */
  rest(all: readonly TokenLogprob[] | undefined): TokenLogprob[] | undefined {
    if (!all || all.length <= this.sent) return undefined;
    const entries = all.slice(this.sent);
    this.sent = all.length;
    return entries;
  }
}
