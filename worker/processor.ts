import { WaitingError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ResultCache } from '../core/cache.ts';
import { failureError, jobFailure } from '../core/contract/failure.ts';
import { toolCallId } from '../core/contract/tools.ts';
import type { EmbeddingInput, GenerationResult, JobData, JobProgress } from '../core/job-contract.ts';
import type { RedisKeys } from '../core/keys.ts';
import type { Logger } from '../core/logger.ts';
import { recordGeneration } from '../core/metrics/inference.ts';
import { cacheResult } from './cache-result.ts';
import { runEmbedding } from './embedding-job.ts';
import type { InferencePool } from './inference-pool.ts';
import { NO_STREAM, type TokenStreamWriter } from './token-stream-writer.ts';

export interface ProcessorDeps {
  pool: InferencePool;
  /** Commands of the processor's own (cancel flags). The cache and streams must use BullMQ's connection. */
  redis: Redis;
  keys: RedisKeys;
  cache: ResultCache;
  streams: TokenStreamWriter;
  modelId: string;
  /** What results of this model are cached under (`servedCacheIdentity` of its record). */
  cacheIdentity: string;
  logger: Logger;
}

/**
 * Throttle of `job.updateProgress` (ms): progress is for humans, not for every token. The first
 * report comes 250 ms in (a short job completes before it would matter), later ones a second
 * apart: each is a Redis script plus an event that every API process reads, so on a long
 * generation of a large model they cost as much as its token stream did at 250 ms.
 */
const FIRST_PROGRESS_MS = 250;
const PROGRESS_INTERVAL_MS = 1000;

/** Who stopped a generation: its client (the job ends `cancelled`) or the worker's shutdown (the job goes back to the queue). */
type StopReason = 'client' | 'shutdown';

interface Running {
  stop(reason: StopReason): void;
  /** The first reason it was stopped for; a client's cancel wins over a shutdown that comes later. */
  stoppedBy: StopReason | undefined;
}

/**
 * Runs one BullMQ job in the pool: a generation, or an embedding (embedding-job.ts). Jobs in
 * flight are tracked by job id so that a cancellation (pub/sub) or shutdown reaches the thread
 * that runs them.
 */
export class JobProcessor {
  /** The jobs this processor runs, by job id. */
  private readonly running = new Map<string, Running>();
  /** Set once its worker stops taking jobs: a job BullMQ still hands over goes straight back. */
  private refusing = false;

  constructor(private readonly deps: ProcessorDeps) {}

  get activeJobIds(): string[] {
    return [...this.running.keys()];
  }

  /** A client's cancel: the job ends `cancelled` with the text generated so far. */
  cancel(jobId: string): boolean {
    const running = this.running.get(jobId);
    running?.stop('client');
    return running !== undefined;
  }

  /**
   * Shutdown: stops every job, and each goes back to the queue for another worker to run from the
   * start. Its stream gets no `end`, so its readers wait for that run.
   */
  handBackAll(): void {
    for (const running of this.running.values()) running.stop('shutdown');
  }

  /**
   * Its BullMQ worker is closing. BullMQ still moves to active a job whose arrival ends a blocking
   * wait already under way when the close began; such a job goes back to the queue untouched, for
   * a worker that is not stopping.
   */
  stopTaking(): void {
    this.refusing = true;
  }

  readonly process = async (job: Job<JobData, GenerationResult>, token?: string): Promise<GenerationResult> => {
    if (this.refusing) {
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const { embed } = job.data;
    return embed ? await this.embed(job, embed, token) : await this.generate(job, token);
  };

  private async embed(job: Job<JobData, GenerationResult>, embed: EmbeddingInput, token: string | undefined): Promise<GenerationResult> {
    const jobId = job.id ?? '';
    try {
      return await runEmbedding(this.deps, job, embed, token, (cancel) => this.track(jobId, cancel));
    } finally {
      this.running.delete(jobId);
    }
  }

  /**
   * Registers a job's run, then reads its cancel flag: registered before the flag is read, a
   * cancellation is seen whenever it comes, set before the read (the flag) or published after it
   * (pub/sub). A job cancelled while it waited, but picked up before it could be removed, is read
   * in parallel with the start of its run (not before it) and stops soon after.
   */
  private track(jobId: string, cancel: () => void): Running {
    const running: Running = {
      stoppedBy: undefined,
      stop(reason) {
        if (this.stoppedBy !== 'client') this.stoppedBy = reason;
        cancel();
      },
    };
    this.running.set(jobId, running);
    this.deps.redis
      .exists(this.deps.keys.cancelFlag(jobId))
      .then((flagged) => {
        if (flagged === 1) running.stop('client');
      })
      .catch(() => undefined);
    return running;
  }

  private async generate(job: Job<JobData, GenerationResult>, token: string | undefined): Promise<GenerationResult> {
    const { pool, streams } = this.deps;
    const jobId = job.id ?? '';
    const startedAt = Date.now();
    const queuedMs = Math.max(0, startedAt - job.data.acceptedAt);
    // Every pick-up of the job counts (retries and runs after a stall): a later run owns the stream.
    const stream = job.data.batch ? NO_STREAM : streams.open(jobId, Math.max(1, job.attemptsStarted));

    let nextProgressAt = Date.now() + FIRST_PROGRESS_MS;
    const generation = pool.generate(
      { ...(job.data.prompt === undefined ? {} : { prompt: job.data.prompt }), ...(job.data.messages ? { messages: job.data.messages } : {}), sampling: job.data.sampling },
      (event) => {
        stream.push(event.text, event.tokens, event.logprobs);
        const now = Date.now();
        if (now >= nextProgressAt) {
          nextProgressAt = now + PROGRESS_INTERVAL_MS;
          job.updateProgress({ tokens: event.tokens } satisfies JobProgress).catch(() => undefined);
        }
      },
    );
    // A cancel stops it within a token or two.
    const running = this.track(jobId, () => generation.cancel());

    let outcome;
    try {
      outcome = await generation.outcome;
    } catch (error) {
      // The thread died or the pool failed: transient, BullMQ retries with backoff.
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (lastAttempt) await stream.fail(jobFailure('generation_failed', (error as Error).message));
      else await stream.close();
      throw error;
    } finally {
      this.running.delete(jobId);
    }
    if (!outcome.ok) {
      await stream.fail(outcome.failure);
      throw failureError(outcome.failure);
    }
    if (outcome.finishReason === 'cancelled' && running.stoppedBy === 'shutdown') {
      // Not a result: what was streamed stays, and the next run of the job takes the stream over.
      await stream.close();
      await job.moveToWait(token);
      throw new WaitingError();
    }

    // Queued until generation began: in Redis, then (prefetched) in the pool thread.
    const result = this.buildResult(
      outcome.text,
      outcome.finishReason,
      outcome.promptTokens,
      outcome.completionTokens,
      queuedMs + Math.round(outcome.waitMs),
      outcome.timings,
    );
    if (outcome.logprobs) result.logprobs = outcome.logprobs;
    if (outcome.toolCalls) result.tool_calls = outcome.toolCalls.map((call, index) => ({ id: toolCallId(jobId, index), ...call }));
    recordGeneration({ model: this.deps.modelId, queue: job.queueName }, result, Date.now() - job.data.acceptedAt);
    // Sent, not waited for: they go on BullMQ's connection, so Redis runs them before the job's
    // completion, which BullMQ sends next on it. The final progress report keeps Bull Board's
    // progress view of a finished job at its full token count.
    void stream.end(result);
    job.updateProgress({ tokens: outcome.completionTokens } satisfies JobProgress).catch(() => undefined);
    cacheResult(this.deps, job, result);
    return result;
  }

  private buildResult(
    text: string,
    finishReason: GenerationResult['finish_reason'],
    promptTokens: number,
    completionTokens: number,
    queuedMs: number,
    timings: Omit<GenerationResult['timings'], 'queued_ms'>,
  ): GenerationResult {
    return {
      text,
      finish_reason: finishReason,
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      model: this.deps.modelId,
      cached: false,
      timings: { queued_ms: queuedMs, ...timings },
    };
  }
}
