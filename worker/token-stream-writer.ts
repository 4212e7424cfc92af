import type { Redis } from 'ioredis';
import type { GenerationResult } from '../core/job-contract.ts';
import type { RedisKeys } from '../core/keys.ts';

/**
 * Token stream of one job: a Redis Stream of events, so late readers replay from the start.
 * Events: `start {attempt}` (a retry after a crash starts again), `token {text, tokens}`,
 * then `end {result}` or `error {message}`. Chunks are coalesced for `flushMs` to keep
 * Redis round trips per job low; the stream is capped and expires with the job's retention.
 */
export class TokenStreamWriter {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly options: { maxLen: number; ttlSeconds: number; flushMs: number },
  ) {}

  open(jobId: string, attempt: number): JobTokenStream {
    return new JobTokenStream(this.redis, this.keys.stream(jobId), attempt, this.options);
  }
}

export class JobTokenStream {
  private pending = '';
  private pendingTokens = 0;
  private streamedText = '';
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown>;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    attempt: number,
    private readonly options: { maxLen: number; ttlSeconds: number; flushMs: number },
  ) {
    this.chain = this.append(['type', 'start', 'attempt', String(attempt)], true);
  }

  push(text: string, tokens: number): void {
    this.pending += text;
    this.pendingTokens = tokens;
    this.timer ??= setTimeout(() => this.flush(), this.options.flushMs);
  }

  /** Writes what is left (the final text is authoritative) and the end event. */
  async end(result: GenerationResult): Promise<void> {
    this.flush();
    const rest = result.text.startsWith(this.streamedText) ? result.text.slice(this.streamedText.length) : '';
    if (rest) this.enqueue(['type', 'token', 'text', rest, 'tokens', String(result.usage.completion_tokens)]);
    this.enqueue(['type', 'end', 'result', JSON.stringify(result)]);
    await this.chain;
  }

  async fail(message: string): Promise<void> {
    this.flush();
    this.enqueue(['type', 'error', 'message', message]);
    await this.chain;
  }

  async close(): Promise<void> {
    this.flush();
    await this.chain;
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending) return;
    const text = this.pending;
    this.pending = '';
    this.streamedText += text;
    this.enqueue(['type', 'token', 'text', text, 'tokens', String(this.pendingTokens)]);
  }

  private enqueue(fields: string[]): void {
    this.chain = this.chain.then(() => this.append(fields, false));
  }

  /** Stream writes are best effort: a lost token event must never fail the job itself. */
  private async append(fields: string[], first: boolean): Promise<void> {
    try {
      const multi = this.redis.multi();
      if (first) multi.del(this.key);
      multi.xadd(this.key, 'MAXLEN', '~', String(this.options.maxLen), '*', ...fields);
      multi.expire(this.key, this.options.ttlSeconds);
      await multi.exec();
    } catch {
      // Redis away: the job result still reaches BullMQ when it returns.
    }
  }
}
