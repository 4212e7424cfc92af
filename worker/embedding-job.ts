import { WaitingError, type Job } from 'bullmq';
import { failureError, jobFailure } from '../core/contract/failure.ts';
import type { EmbeddingInput, EmbeddingResult, GenerationResult, JobData } from '../core/job-contract.ts';
import { countEmbeddingContext, recordEmbedding } from '../core/metrics/embeddings.ts';
import { cacheResult, type CacheResultDeps } from './cache-result.ts';
import type { InferencePool } from './inference-pool.ts';

export interface EmbeddingJobDeps extends CacheResultDeps {
  pool: Pick<InferencePool, 'embed' | 'model'>;
  modelId: string;
}

/** The processor's record of a run: who stopped it, if anyone did. */
export interface TrackedRun {
  readonly stoppedBy: 'client' | 'shutdown' | undefined;
}

/**
 * Runs an embedding job: every input of the request in one task of the pool, on the embedding
 * context of the thread that takes it. There are no tokens to stream: the job's events end with
 * its stored result, as batch lines' do. Cancellation, shutdown and failures follow generation's
 * rules (processor.ts): a client's cancel ends it `cancelled` without vectors, a shutdown hands it
 * back to the queue, a request at fault fails it for good, anything else is retried.
 */
export async function runEmbedding(
  deps: EmbeddingJobDeps,
  job: Job<JobData, GenerationResult>,
  embed: EmbeddingInput,
  token: string | undefined,
  /** Registers the run with the processor, so that a cancel or a shutdown reaches it. */
  track: (cancel: () => void) => TrackedRun,
): Promise<EmbeddingResult> {
  const { pool, modelId, logger } = deps;
  const jobId = job.id ?? '';
  const queuedMs = Math.max(0, Date.now() - job.data.acceptedAt);
  const size = pool.model.embeddingSize;
  // The API checks this when it knows the served model; a worker always does, as the model is its own.
  if (embed.dimensions !== undefined && embed.dimensions !== size) {
    throw failureError(
      jobFailure('invalid_request', `dimensions: the vectors of ${modelId} have ${size} dimensions, not ${embed.dimensions} (vectors are not shortened)`),
    );
  }

  const embedding = pool.embed(embed.inputs);
  const running = track(() => embedding.cancel());
  // A thread that died, or a context that could not be created, throws: transient, BullMQ retries.
  const outcome = await embedding.outcome;
  if (!outcome.ok) throw failureError(outcome.failure);
  if (outcome.contextCreatedMs !== undefined) {
    countEmbeddingContext(modelId);
    logger.info({ jobId, model: modelId, ms: Math.round(outcome.contextCreatedMs) }, 'embedding context created');
  }
  if (outcome.cancelled && running.stoppedBy === 'shutdown') {
    await job.moveToWait(token);
    throw new WaitingError();
  }

  const result: EmbeddingResult = {
    text: '',
    finish_reason: outcome.cancelled ? 'cancelled' : 'stop',
    usage: { prompt_tokens: outcome.inputTokens, completion_tokens: 0, total_tokens: outcome.inputTokens },
    model: modelId,
    cached: false,
    timings: { queued_ms: queuedMs + Math.round(outcome.waitMs), ttft_ms: 0, generation_ms: outcome.embeddingMs, tokens_per_second: 0 },
    embeddings: outcome.vectors,
    dimensions: outcome.dimensions,
  };
  if (outcome.cancelled) return result;
  recordEmbedding({ model: modelId, queue: job.queueName }, result);
  cacheResult(deps, job, result);
  return result;
}
