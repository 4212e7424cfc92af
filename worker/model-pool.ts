import { llamaThreadsPerPoolThread, type Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { ModelSource } from '../core/model/resolve.ts';
import { InferencePool } from './inference-pool.ts';

/**
 * Starts the pool threads on the resolved model file; each thread loads the model once. Resolves
 * when the first thread has loaded it, so a file llama.cpp cannot read fails the start.
 */
export async function loadModelPool(config: Config, source: ModelSource, logger: Logger, tokenFlushMs: number): Promise<InferencePool> {
  const threads = llamaThreadsPerPoolThread(config);
  logger.info(
    { model: source.path, poolThreads: config.POOL_THREADS, sequencesPerThread: config.SEQUENCES_PER_THREAD, prefetchPerThread: config.PREFETCH_PER_THREAD, llamaThreads: threads },
    'loading model',
  );
  const pool = await InferencePool.start(
    { modelPath: source.path, contextSize: config.CONTEXT_SIZE, sequences: config.SEQUENCES_PER_THREAD, threads, tokenFlushMs },
    config.POOL_THREADS,
    config.PREFETCH_PER_THREAD,
    { fileType: source.facts.quantization },
  );
  logger.info(
    { model: source.id, file: source.path, quantization: source.facts.quantization, loadMs: Math.round(pool.model.loadMs), contextSize: pool.model.contextSize },
    'model loaded',
  );
  return pool;
}
