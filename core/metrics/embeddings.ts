import type { EmbeddingResult } from '../job-contract.ts';
import { processMetrics, type Metrics } from './registry.ts';

/**
 * Metrics of embedding jobs. They share the job metrics (outcomes, queue wait, prompt tokens) with
 * generations, and keep their durations apart: an embedding takes milliseconds where a generation
 * takes seconds, and mixing them would make the generation latencies (and their alerts) look better
 * than what chat clients get.
 */

/** The worker's embedding series at 0 from the start, so rate() sees the first job and the first context. */
export function initEmbeddingCounters(model: string, metrics: Metrics = processMetrics()): void {
  metrics.m.embeddingInputs.inc({ model }, 0);
  metrics.m.embeddingContextsCreated.inc({ model }, 0);
}

/** Records a completed embedding job: its tokens, queue wait, inputs and the time computing them. */
export function recordEmbedding(
  labels: { model: string; queue: string },
  result: EmbeddingResult,
  metrics: Metrics = processMetrics(),
): void {
  const { m } = metrics;
  const model = { model: labels.model };
  m.promptTokens.inc(model, result.usage.prompt_tokens);
  m.queueWait.observe(labels, result.timings.queued_ms / 1000);
  m.embeddingInputs.inc(model, result.embeddings.length);
  m.embeddingDuration.observe(model, result.timings.generation_ms / 1000);
}

/** A pool thread created its embedding context (with its first embedding job). */
export function countEmbeddingContext(model: string, metrics: Metrics = processMetrics()): void {
  metrics.m.embeddingContextsCreated.inc({ model });
}
