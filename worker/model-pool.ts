import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { decodePoolWarning, planInference, thisMachine, type Machine } from '../core/model/inference-plan.ts';
import type { ModelSource } from '../core/model/resolve.ts';
import { InferencePool } from './inference-pool.ts';

/**
 * Starts the pool threads on the resolved model file, with the settings the operator gave and the
 * rest chosen from the model and the machine; each thread loads the model once. Resolves when the
 * first thread has loaded it, so a file llama.cpp cannot read fails the start. `machine` is the
 * share of the cores and memory this model gets (a worker holding several divides them).
 */
export async function loadModelPool(
  config: Config,
  source: ModelSource,
  logger: Logger,
  tokenFlushMs: number,
  machine: Machine = thisMachine(),
): Promise<InferencePool> {
  const plan = planInference(source.facts, config, machine);
  logger.info(
    {
      model: source.path,
      poolThreads: plan.poolThreads,
      contextsPerThread: plan.contextsPerThread,
      sequencesPerContext: plan.sequencesPerThread,
      llamaThreads: plan.llamaThreads,
      prefetchPerThread: config.PREFETCH_PER_THREAD,
    },
    `inference settings: ${plan.reason}`,
  );
  const shortfall = decodePoolWarning(plan);
  if (shortfall) logger.warn({ contexts: plan.poolThreads * plan.contextsPerThread }, shortfall);
  const pool = await InferencePool.start(
    {
      modelPath: source.path,
      contextSize: config.CONTEXT_SIZE,
      contexts: plan.contextsPerThread,
      sequences: plan.sequencesPerThread,
      threads: plan.llamaThreads,
      tokenFlushMs,
    },
    plan.poolThreads,
    config.PREFETCH_PER_THREAD,
    { fileType: source.facts.quantization },
  );
  logger.info(
    { model: source.id, file: source.path, quantization: source.facts.quantization, loadMs: Math.round(pool.model.loadMs), contextSize: pool.model.contextSize },
    'model loaded',
  );
  return pool;
}
