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
    this.chain = this.append([['type', 'start', 'attempt', String(attempt)]], true);
  }

  push(text: string, tokens: number): void {
    this.pending += text;
    this.pendingTokens = tokens;
    this.timer ??= setTimeout(() => this.flush(), this.options.flushMs);
  }

  /** Writes what is left (the final text is authoritative) and the end event, in one round trip. */
  async end(result: GenerationResult): Promise<void> {
    const events = this.takePending();
    const rest = result.text.startsWith(this.streamedText) ? result.text.slice(this.streamedText.length) : '';
    if (rest) events.push(['type', 'token', 'text', rest, 'tokens', String(result.usage.completion_tokens)]);
    events.push(['type', 'end', 'result', JSON.stringify(result)]);
    this.enqueue(events);
    await this.chain;
  }

  async fail(message: string): Promise<void> {
    this.enqueue([...this.takePending(), ['type', 'error', 'message', message]]);
    await this.chain;
  }

  async close(): Promise<void> {
    this.flush();
    await this.chain;
  }

  private flush(): void {
    const events = this.takePending();
    if (events.length > 0) this.enqueue(events);
  }

  /** The coalesced token event, if any text is waiting. */
  private takePending(): string[][] {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending) return [];
    const text = this.pending;
    this.pending = '';
    this.streamedText += text;
    return [['type', 'token', 'text', text, 'tokens', String(this.pendingTokens)]];
  }

  private enqueue(events: string[][]): void {
    this.chain = this.chain.then(() => this.append(events, false));
  }

  /** Stream writes are best effort: a lost token event must never fail the job itself. */
  private async append(events: string[][], first: boolean): Promise<void> {
    try {
      const multi = this.redis.multi();
      if (first) multi.del(this.key);
      for (const fields of events) multi.xadd(this.key, 'MAXLEN', '~', String(this.options.maxLen), '*', ...fields);
      multi.expire(this.key, this.options.ttlSeconds);
      await multi.exec();
    } catch {
      // Redis away: the job result still reaches BullMQ when it returns.
    }
  }
}
