import os from 'node:os';
import { kvBytesPerToken, type ModelFacts } from './model-facts.ts';

/**
 * Weights below this size make a token cost well under a millisecond: llama.cpp's per-operation
 * thread synchronisation then costs more than a second thread saves (benchmarks pair 5: on
 * stories260K, 1×2 with 2 llama.cpp threads ran at 15% of 2×1 with one), and a copy of the weights
 * per pool thread costs nothing. Above it, a token costs milliseconds, llama.cpp's threads pay off
 * and every copy of the weights costs real memory.
 */
export const SMALL_MODEL_BYTES = 64 * 1024 * 1024;
/** Pool threads of a small model: one per core, at most this many (more processes scale further). */
const MAX_DEFAULT_POOL_THREADS = 4;
/** Sequences one context of a large model batches by default, when memory allows. */
const LARGE_MODEL_SEQUENCES = 4;
/** Share of the machine's memory that the weights and KV caches of the default may take. */
const MEMORY_SHARE = 0.75;

export interface Machine {
  cores: number;
  memoryBytes: number;
}

export const thisMachine = (): Machine => ({ cores: os.availableParallelism(), memoryBytes: os.totalmem() });

/** What the operator set; anything left out is chosen by the plan. */
export interface ExplicitSettings {
  POOL_THREADS?: number | undefined;
  SEQUENCES_PER_THREAD?: number | undefined;
  LLAMA_THREADS?: number | undefined;
  CONTEXT_SIZE: number;
}

export interface InferencePlan {
  poolThreads: number;
  sequencesPerThread: number;
  /** llama.cpp threads of each pool thread. */
  llamaThreads: number;
  /** Copies of the weights the worker holds: one per pool thread (threads cannot share a loaded model). */
  weightCopies: number;
  /** One line: what was chosen, from what. */
  reason: string;
}

const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;

/**
 * Pool threads, sequences per thread and llama.cpp threads for a model on a machine. Every
 * setting the operator gave wins; the others follow from the model's size and shape, the cores
 * and the memory:
 *
 * - a small model: one single-threaded pool thread per core, one sequence each;
 * - a large model: one pool thread (one copy of the weights: node-llama-cpp cannot share a loaded
 *   model between threads) on every core, batching up to 4 sequences, fewer if their KV caches
 *   and the weights would not fit in 75% of the memory.
 */
export function planInference(facts: Pick<ModelFacts, 'sizeBytes' | 'shape' | 'trainContextSize'>, set: ExplicitSettings, machine: Machine = thisMachine()): InferencePlan {
  const cores = Math.max(1, machine.cores);
  const small = facts.sizeBytes < SMALL_MODEL_BYTES;
  const contextSize = Math.min(set.CONTEXT_SIZE, facts.trainContextSize ?? set.CONTEXT_SIZE);
  const kvPerSequence = facts.shape ? kvBytesPerToken(facts.shape) * contextSize : 0;

  const poolThreads =
    set.POOL_THREADS ??
    (small ? Math.max(1, Math.min(MAX_DEFAULT_POOL_THREADS, Math.floor(cores / (set.LLAMA_THREADS ?? 1)))) : 1);
  const llamaThreads = set.LLAMA_THREADS ?? Math.max(1, Math.floor(cores / poolThreads));
  const room = machine.memoryBytes * MEMORY_SHARE - poolThreads * facts.sizeBytes;
  const fitting = kvPerSequence > 0 ? Math.floor(room / (poolThreads * kvPerSequence)) : LARGE_MODEL_SEQUENCES;
  const sequencesPerThread = set.SEQUENCES_PER_THREAD ?? (small ? 1 : Math.max(1, Math.min(LARGE_MODEL_SEQUENCES, fitting)));

  const chosen = [
    `POOL_THREADS=${poolThreads}${set.POOL_THREADS === undefined ? '' : ' (set)'}`,
    `SEQUENCES_PER_THREAD=${sequencesPerThread}${set.SEQUENCES_PER_THREAD === undefined ? '' : ' (set)'}`,
    `LLAMA_THREADS=${llamaThreads}${set.LLAMA_THREADS === undefined ? '' : ' (set)'}`,
  ].join(', ');
  const why = small
    ? `the model's ${mib(facts.sizeBytes)} are under ${mib(SMALL_MODEL_BYTES)}: a token costs less than llama.cpp's thread synchronisation saves, so one single-threaded pool thread per core (${cores} cores), each with its own copy`
    : `the model's ${mib(facts.sizeBytes)} are ${mib(SMALL_MODEL_BYTES)} or more: one pool thread holds one copy of the weights and batches its sequences on all ${cores} cores` +
      (kvPerSequence > 0 ? `; ${mib(kvPerSequence)} of KV cache per sequence at context ${contextSize}, ${mib(machine.memoryBytes)} of memory` : '');
  return { poolThreads, sequencesPerThread, llamaThreads, weightCopies: poolThreads, reason: `${chosen}: ${why}` };
}
