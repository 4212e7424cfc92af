import type { GenerationResult } from '../job-contract.ts';
import { processMetrics, type Metrics } from './registry.ts';

/** The model facts a worker reports once it has loaded. */
export interface LoadedModel {
  /** Model id as results show it (from configuration, never from a request). */
  id: string;
  architecture: string;
  /** llama.cpp `general.file_type` (a number) or a name. */
  fileType: string;
  contextSize: number;
  trainContextSize: number;
  loadMs: number;
}

/** Live occupancy of an inference pool. */
export interface PoolOccupancy {
  readonly busy: number;
  readonly capacity: number;
}

/** llama.cpp file types by their GGUF code, for the ones people run; others keep their number. */
const FILE_TYPES: Record<string, string> = {
  '0': 'F32',
  '1': 'F16',
  '2': 'Q4_0',
  '3': 'Q4_1',
  '7': 'Q8_0',
  '8': 'Q5_0',
  '9': 'Q5_1',
  '10': 'Q2_K',
  '11': 'Q3_K_S',
  '12': 'Q3_K_M',
  '13': 'Q3_K_L',
  '14': 'Q4_K_S',
  '15': 'Q4_K_M',
  '16': 'Q5_K_S',
  '17': 'Q5_K_M',
  '18': 'Q6_K',
  '32': 'BF16',
};

export function fileTypeName(fileType: string): string {
  return FILE_TYPES[fileType] ?? fileType;
}

const pools = new WeakMap<Metrics, Set<{ model: string; pool: PoolOccupancy }>>();

/**
 * Exports the model's info, load time and the pool's busy/capacity sequences (read at scrape time).
 * Returns the function that removes them (a worker that closes stops reporting its model).
 */
export function trackInferencePool(model: LoadedModel, pool: PoolOccupancy, metrics: Metrics = processMetrics()): () => void {
  let entries = pools.get(metrics);
  if (!entries) {
    const all = new Set<{ model: string; pool: PoolOccupancy }>();
    entries = all;
    pools.set(metrics, all);
    metrics.onScrape(() => {
      const { sequencesBusy, sequencesCapacity } = metrics.m;
      sequencesBusy.reset();
      sequencesCapacity.reset();
      for (const entry of all) {
        sequencesBusy.inc({ model: entry.model }, entry.pool.busy);
        sequencesCapacity.inc({ model: entry.model }, entry.pool.capacity);
      }
    });
  }
  const entry = { model: model.id, pool };
  entries.add(entry);
  const info = {
    model: model.id,
    architecture: model.architecture,
    file_type: fileTypeName(model.fileType),
    context_size: String(model.contextSize),
    train_context_size: String(model.trainContextSize),
  };
  metrics.m.modelInfo.set(info, 1);
  metrics.m.modelLoad.set({ model: model.id }, model.loadMs / 1000);
  const all = entries;
  return () => {
    all.delete(entry);
    if (![...all].some((e) => e.model === model.id)) {
      metrics.m.modelInfo.remove(info);
      metrics.m.modelLoad.remove({ model: model.id });
    }
  };
}

/**
 * Records one generation that ran to an end (stop, length, or cancelled mid-way): tokens,
 * queue wait, time to first token, per-token time and durations. `e2eMs` runs from the
 * API's acceptance to now.
 */
export function recordGeneration(
  labels: { model: string; queue: string },
  result: GenerationResult,
  e2eMs: number,
  metrics: Metrics = processMetrics(),
): void {
  const { m } = metrics;
  const model = { model: labels.model };
  const { usage, timings } = result;
  m.promptTokens.inc(model, usage.prompt_tokens);
  m.generationTokens.inc(model, usage.completion_tokens);
  m.queueWait.observe(labels, timings.queued_ms / 1000);
  m.generationDuration.observe(model, timings.generation_ms / 1000);
  m.e2eLatency.observe(model, Math.max(0, e2eMs) / 1000);
  // Without a token there is no first-token time; without a second, no time between tokens.
  if (usage.completion_tokens > 0) m.timeToFirstToken.observe(model, timings.ttft_ms / 1000);
  if (usage.completion_tokens > 1) {
    const perToken = (timings.generation_ms - timings.ttft_ms) / (usage.completion_tokens - 1);
    m.timePerOutputToken.observe(model, Math.max(0, perToken) / 1000);
  }
}
