import type { Redis } from 'ioredis';
import { textAfter } from '../core/contract/append-only-text.ts';
import type { JobFailure } from '../core/contract/failure.ts';
import type { TokenLogprob } from '../core/contract/logprobs.ts';
import { encodeStreamEvent, type JobStreamEvent, type StreamFields } from '../core/contract/stream-events.ts';
import type { GenerationResult } from '../core/job-contract.ts';
import type { RedisKeys } from '../core/keys.ts';

/**
 * Appends a batch of events to a job's stream on behalf of one run of the job, and only while that
 * run owns the stream. The first batch of a run claims the stream (resetting it; the batch begins
 * with the run's `start`) unless a later run already did; later batches are refused once another
 * run has claimed it. So two overlapping runs of one job (a live worker whose lock expired, and the
 * run that replaced it) can never interleave their tokens.
 *
 * KEYS: stream, owner. ARGV: run number, run id, claim (1/0), max length, ttl seconds, then each
 * event as its field count followed by its fields. Returns 1 if written, 0 if refused.
 */
const APPEND_SCRIPT = `
local owner = redis.call('GET', KEYS[2])
local me = ARGV[1] .. ':' .. ARGV[2]
if ARGV[3] == '1' then
  if owner and owner ~= me then
    local ownerRun = tonumber(string.match(owner, '^(%d+):'))
    if ownerRun and ownerRun > tonumber(ARGV[1]) then return 0 end
  end
  redis.call('DEL', KEYS[1])
elseif owner ~= me then
  return 0
end
local i = 6
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
redis.call('SET', KEYS[2], me, 'EX', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
`;

interface StreamCommands {
  appendJobStream(stream: string, owner: string, ...args: string[]): Promise<number>;
}

export interface StreamOptions {
  maxLen: number;
  ttlSeconds: number;
  /** Tokens after the first are coalesced for this long (ms) into one event. */
  flushMs: number;
}

/**
 * Token stream of one job: a Redis Stream of the events of core/contract/stream-events.ts, so
 * late readers replay from the start.
 *
 * A run writes nothing until its first token, which goes out at once with `start` (time to first
 * token is what streaming clients feel); later chunks are coalesced for `flushMs`, and the rest
 * goes out with `end`: two writes for a short job. The stream is capped and expires with the
 * job's retention.
 *
 * Writes are sent at once, never waiting for the previous one's reply: commands on one connection
 * run in the order they were sent. Given BullMQ's own connection, a job's `end` is therefore in the
 * stream before the job completes without the worker waiting for it.
 */
export class TokenStreamWriter {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly options: StreamOptions,
  ) {
    if (!('appendJobStream' in redis)) redis.defineCommand('appendJobStream', { numberOfKeys: 2, lua: APPEND_SCRIPT });
  }

  /**
   * `run`: how many times the job has been started, this one included (BullMQ's attempts made plus
   * stalls, plus one); a later run takes the stream over from an earlier one.
   */
  open(jobId: string, run: number): JobTokenStream {
    return new JobTokenStream(this.redis as Redis & StreamCommands, this.keys.stream(jobId), this.keys.streamOwner(jobId), run, this.options);
  }
}

/** Where a run's tokens go: a job's stream, or nowhere. */
export interface TokenSink {
  /** `logprobs`: the entries of the tokens that carried `text`, when the job asked for them. */
  push(text: string, tokens: number, logprobs?: TokenLogprob[]): void;
  end(result: GenerationResult): Promise<void>;
  fail(failure: JobFailure): Promise<void>;
  close(): Promise<void>;
}

/**
 * The sink of a batch line: nobody follows its tokens (its coordinator reads the result), and a
 * stream per line would keep a batch's whole output in Redis for STREAM_TTL_SECONDS.
 */
export const NO_STREAM: TokenSink = {
  push: () => undefined,
  end: async () => undefined,
  fail: async () => undefined,
  close: async () => undefined,
};

export class JobTokenStream implements TokenSink {
  private readonly runId = Math.random().toString(36).slice(2, 10);
  /** This run's first write (the claim: reset and `start`) has been sent. */
  private claimed = false;
  private finished = false;
  /** Another run of the job owns the stream: this one writes nothing more. */
  private superseded = false;
  private pending = '';
  private pendingTokens = 0;
  private pendingLogprobs: TokenLogprob[] | undefined;
  private streamedText = '';
  /** Logprob entries written so far, of a job that asked for them. */
  private streamedLogprobs = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The last write sent; writes complete in order. */
  private last: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: Redis & StreamCommands,
    private readonly key: string,
    private readonly ownerKey: string,
    private readonly run: number,
    private readonly options: StreamOptions,
  ) {}

  push(text: string, tokens: number, logprobs?: TokenLogprob[]): void {
    if (this.finished) return;
    this.pending += text;
    this.pendingTokens = tokens;
    if (logprobs) (this.pendingLogprobs ??= []).push(...logprobs);
    if (!this.claimed) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.flushMs);
  }

  /** Writes what is left (the final text is authoritative) and the end event, in one round trip. */
  async end(result: GenerationResult): Promise<void> {
    const events = this.takePending();
    const rest = textAfter(this.streamedText, result.text);
    // The rest's tokens: the result's entries beyond those written (the thread keeps its last text for the result).
    const logprobs = result.logprobs ? { logprobs: result.logprobs.slice(this.streamedLogprobs) } : {};
    if (rest) events.push({ type: 'token', text: rest, tokens: result.usage.completion_tokens, ...logprobs });
    events.push({ type: 'end', result });
    await this.finish(events);
  }

  async fail(failure: JobFailure): Promise<void> {
    await this.finish([...this.takePending(), { type: 'error', failure }]);
  }

  /** Writes what is pending without ending the stream (a run that will be retried). */
  async close(): Promise<void> {
    await this.finish(this.takePending());
  }

  private async finish(events: JobStreamEvent[]): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    if (events.length > 0) this.send(events);
    await this.last;
  }

  private flush(): void {
    const events = this.takePending();
    if (events.length > 0) this.send(events);
  }

  /** The coalesced token event, if any text is waiting. */
  private takePending(): JobStreamEvent[] {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending) return [];
    const text = this.pending;
    const logprobs = this.pendingLogprobs ? { logprobs: this.pendingLogprobs } : {};
    this.pending = '';
    this.streamedLogprobs += this.pendingLogprobs?.length ?? 0;
    this.pendingLogprobs = undefined;
    this.streamedText += text;
    return [{ type: 'token', text, tokens: this.pendingTokens, ...logprobs }];
  }

  /** The first write of a run claims the stream; the script refuses the rest if that failed or was refused. */
  private send(events: JobStreamEvent[]): void {
    const claim = !this.claimed;
    this.claimed = true;
    const batch = claim ? [{ type: 'start', attempt: this.run } as const, ...events] : events;
    this.last = this.append(batch.map(encodeStreamEvent), claim);
  }

  /** Stream writes are best effort: a lost token event must never fail the job itself. */
  private async append(events: StreamFields[], claim: boolean): Promise<void> {
    if (this.superseded) return;
    const args = [String(this.run), this.runId, claim ? '1' : '0', String(this.options.maxLen), String(this.options.ttlSeconds)];
    for (const fields of events) args.push(String(fields.length), ...fields);
    try {
      if ((await this.redis.appendJobStream(this.key, this.ownerKey, ...args)) === 0) this.superseded = true;
    } catch {
      // Redis away: the job result still reaches BullMQ when it returns.
    }
  }
}
