import type { MessagePort } from 'node:worker_threads';
import type { Token } from 'node-llama-cpp';
import type { TokenLogprob } from '../core/contract/logprobs.ts';
import type { Timings } from '../core/job-contract.ts';
import type { TokenEvent } from './inference-protocol.ts';

/**
 * Counts a generation's tokens and times them, and passes its text to the main thread in batches:
 * the first chunk at once (time to first token), later ones coalesced for `tokenFlushMs`, so the
 * main thread wakes a few times per job, not per token. What is pending at the end is not sent:
 * the final text in the outcome carries it.
 */
export class TokenRelay {
  readonly started = performance.now();
  firstTokenAt: number | undefined;
  lastTokenAt = this.started;
  completionTokens = 0;
  /** Every chunk's text, sent or still pending: what the job's stream carries in the end. */
  emittedText = '';
  /** The logprob entries of every chunk, when the job asked for them. */
  emittedLogprobs: TokenLogprob[] = [];
  private pendingText = '';
  private pendingLogprobs: TokenLogprob[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private sentFirst = false;

  constructor(
    private readonly port: MessagePort,
    private readonly flushMs: number,
  ) {}

  readonly onToken = (tokens: readonly Token[]) => {
    this.lastTokenAt = performance.now();
    this.firstTokenAt ??= this.lastTokenAt;
    this.completionTokens += tokens.length;
  };

  /** Text of the answer, and the logprob entries of its tokens when the job asked for them. */
  readonly onTextChunk = (text: string, logprobs?: TokenLogprob[]) => {
    this.pendingText += text;
    this.emittedText += text;
    if (logprobs) {
      this.pendingLogprobs.push(...logprobs);
      this.emittedLogprobs.push(...logprobs);
    }
    if (!this.sentFirst) {
      this.sentFirst = true;
      this.flush();
    } else this.flushTimer ??= setTimeout(this.flush, this.flushMs);
  };

  stop(): void {
    clearTimeout(this.flushTimer);
  }

  timings(): Omit<Timings, 'queued_ms'> {
    const { started, firstTokenAt, lastTokenAt, completionTokens } = this;
    const generationMs = (firstTokenAt === undefined ? performance.now() : lastTokenAt) - started;
    const decodeMs = firstTokenAt === undefined ? 0 : lastTokenAt - firstTokenAt;
    return {
      ttft_ms: round((firstTokenAt ?? performance.now()) - started),
      generation_ms: round(generationMs),
      tokens_per_second:
        completionTokens > 1 && decodeMs > 0
          ? round(((completionTokens - 1) * 1000) / decodeMs)
          : completionTokens > 0 && generationMs > 0
            ? round((completionTokens * 1000) / generationMs)
            : 0,
    };
  }

  private readonly flush = () => {
    this.flushTimer = undefined;
    // Entries of tokens without text wait for the next text (or the outcome).
    if (!this.pendingText) return;
    const logprobs = this.pendingLogprobs.length > 0 ? { logprobs: this.pendingLogprobs } : {};
    this.port.postMessage({ text: this.pendingText, tokens: this.completionTokens, ...logprobs } satisfies TokenEvent);
    this.pendingText = '';
    this.pendingLogprobs = [];
  };
}

const round = (n: number) => Math.round(n * 100) / 100;
