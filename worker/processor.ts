import { UnrecoverableError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ResultCache } from '../core/cache.ts';
import type { GenerationResult, JobData, JobProgress } from '../core/job-contract.ts';
import type { RedisKeys } from '../core/keys.ts';
import type { Logger } from '../core/logger.ts';
import { recordGeneration } from '../core/metrics/inference.ts';
import type { Generation, InferencePool } from './inference-pool.ts';
import type { TokenStreamWriter } from './token-stream-writer.ts';

export interface ProcessorDeps {
  pool: InferencePool;
  redis: Redis;
  keys: RedisKeys;
  cache: ResultCache;
  streams: TokenStreamWriter;
  modelId: string;
  logger: Logger;
  /** Throttle of `job.updateProgress` (ms): progress is for humans, not for every token. */
  progressIntervalMs?: number;
  onFinished?: (job: Job<JobData>, result: GenerationResult) => void;
}

/**
 * Runs one BullMQ job in the pool. Generations in flight are tracked by job id so that a
 * cancellation (pub/sub) or shutdown reaches the thread that runs them.
 */
export class JobProcessor {
  /** Cancels of the jobs this processor runs, by job id. */
  private readonly running = new Map<string, () => void>();

  constructor(private readonly deps: ProcessorDeps) {}

  get activeJobIds(): string[] {
    return [...this.running.keys()];
  }

  cancel(jobId: string): boolean {
    const cancel = this.running.get(jobId);
    cancel?.();
    return cancel !== undefined;
  }

  cancelAll(): void {
    for (const cancel of this.running.values()) cancel();
  }

  readonly process = async (job: Job<JobData, GenerationResult>): Promise<GenerationResult> => {
    const { pool, redis, keys, cache, streams } = this.deps;
    const jobId = job.id ?? '';
    const startedAt = Date.now();
    const queuedMs = Math.max(0, startedAt - job.data.acceptedAt);
    // Every pick-up of the job counts (retries and runs after a stall): a later run owns the stream.
    const stream = streams.open(jobId, Math.max(1, job.attemptsStarted));

    // Registered before the flag is read, so a cancellation is seen whenever it comes: set before
    // the read (the flag), or published after it (the latch).
    const control: { cancelled: boolean; generation?: Generation } = { cancelled: false };
    this.running.set(jobId, () => {
      control.cancelled = true;
      control.generation?.cancel();
    });
    const flagged = await redis.exists(keys.cancelFlag(jobId)).catch((error: unknown) => {
      this.running.delete(jobId);
      throw error;
    });
    if (flagged === 1) {
      // Cancelled while it waited, but picked up before it could be removed: no generation at all.
      this.running.delete(jobId);
      const result = this.buildResult('', 'cancelled', 0, 0, queuedMs, { ttft_ms: 0, generation_ms: 0, tokens_per_second: 0 });
      await stream.end(result);
      return result;
    }

    const progressEvery = this.deps.progressIntervalMs ?? 250;
    // The first report comes one interval in: a short job completes before it would matter, and
    // each report is a Redis script plus an event that every API process reads.
    let lastProgressAt = Date.now();
    const generation = pool.generate(
      { ...(job.data.prompt === undefined ? {} : { prompt: job.data.prompt }), ...(job.data.messages ? { messages: job.data.messages } : {}), sampling: job.data.sampling },
      (event) => {
        stream.push(event.text, event.tokens);
        const now = Date.now();
        if (now - lastProgressAt >= progressEvery) {
          lastProgressAt = now;
          job.updateProgress({ tokens: event.tokens } satisfies JobProgress).catch(() => undefined);
        }
      },
    );
    control.generation = generation;
    if (control.cancelled) generation.cancel();

    let outcome;
    try {
      outcome = await generation.outcome;
    } catch (error) {
      // The thread died or the pool failed: transient, BullMQ retries with backoff.
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (lastAttempt) await stream.fail((error as Error).message);
      else await stream.close();
      throw error;
    } finally {
      this.running.delete(jobId);
    }
    if (!outcome.ok) {
      await stream.fail(`${outcome.code}: ${outcome.message}`);
      throw new UnrecoverableError(`${outcome.code}: ${outcome.message}`);
    }

    const result = this.buildResult(outcome.text, outcome.finishReason, outcome.promptTokens, outcome.completionTokens, queuedMs, outcome.timings);
    recordGeneration({ model: this.deps.modelId, queue: job.queueName }, result, Date.now() - job.data.acceptedAt);
    // Independent writes, both done before the job completes: waited for together. (No final
    // progress report: a finished job's token count is in its result.)
    await Promise.all([stream.end(result), job.data.cacheKey ? cache.set(job.data.cacheKey, result) : undefined]);
    this.deps.onFinished?.(job, result);
    return result;
  };

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
