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
/**
 * Contexts of a large model's pool thread: one per core, at least 4 and at most 8. A
 * single-threaded context never waits for another thread, so more of them than cores merely share
 * the cores, and another context is always ready when one is between jobs: on 2 cores, 4 contexts
 * generated 12% more than 2 in each of two runs where both were started afresh (docs/benchmarks.md, pair 5).
 */
const MIN_DEFAULT_CONTEXTS = 4;
const MAX_DEFAULT_CONTEXTS = 8;
/** Sequences each context of a large model has by default: batching gained nothing measurable on CPU. */
const LARGE_MODEL_SEQUENCES = 1;
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
  CONTEXTS_PER_THREAD?: number | undefined;
  SEQUENCES_PER_THREAD?: number | undefined;
  LLAMA_THREADS?: number | undefined;
  CONTEXT_SIZE: number;
}

export interface InferencePlan {
  poolThreads: number;
  /** llama.cpp contexts of each pool thread, sharing its copy of the weights. */
  contextsPerThread: number;
  /** Sequences of each context (SEQUENCES_PER_THREAD, batched together). */
  sequencesPerThread: number;
  /** llama.cpp threads of each context. */
  llamaThreads: number;
  /** Copies of the weights the worker holds: one per pool thread (threads cannot share a loaded model). */
  weightCopies: number;
  /** One line: what was chosen, from what. */
  reason: string;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 2 : 0)} MiB`;

/**
 * Pool threads, contexts per thread, sequences per context and llama.cpp threads for a model on a
 * machine. Every setting the operator gave wins; the others follow from the model's size and
 * shape, the cores and the memory:
 *
 * - a small model: one pool thread per core (at most 4), one context of one sequence each, one
 *   llama.cpp thread: its tokens are so cheap that the JavaScript around each one is worth a core;
 * - a large model: one pool thread, so one copy of the weights (node-llama-cpp cannot share a
 *   loaded model between threads), with one context per core (at least 4, at most 8) of one
 *   sequence, decoding in parallel on cores ÷ contexts llama.cpp threads each (at least 1). On 2
 *   cores (docs/benchmarks.md, pair 5), 4 single-threaded contexts generated about 70% more
 *   tokens/s than one context batching 4 sequences on 2 threads: llama.cpp's threads wait for each
 *   other at every operation, and a second thread gained a context nothing, while batching
 *   sequences in a context gained nothing over separate contexts. Fewer contexts when the weights
 *   and the KV caches would not fit in 75% of the memory.
 */
export function planInference(
  facts: Pick<ModelFacts, 'sizeBytes' | 'shape' | 'trainContextSize'>,
  set: ExplicitSettings,
  machine: Machine = thisMachine(),
): InferencePlan {
  const cores = Math.max(1, machine.cores);
  const small = facts.sizeBytes < SMALL_MODEL_BYTES;
  const contextSize = Math.min(set.CONTEXT_SIZE, facts.trainContextSize ?? set.CONTEXT_SIZE);
  const kvPerSequence = facts.shape ? kvBytesPerToken(facts.shape) * contextSize : 0;
  const llamaSet = set.LLAMA_THREADS;

  const poolThreads =
    set.POOL_THREADS ?? (small ? Math.max(1, Math.min(MAX_DEFAULT_POOL_THREADS, Math.floor(cores / (llamaSet ?? 1)))) : 1);
  // Contexts of several llama.cpp threads must not share cores (their threads would spin waiting for
  // each other); single-threaded ones may.
  const contextsWanted = small
    ? 1
    : (llamaSet ?? 1) > 1
      ? Math.max(1, Math.floor(cores / (poolThreads * (llamaSet ?? 1))))
      : Math.max(1, Math.floor(Math.min(MAX_DEFAULT_CONTEXTS, Math.max(MIN_DEFAULT_CONTEXTS, cores)) / poolThreads));
  const room = machine.memoryBytes * MEMORY_SHARE - poolThreads * facts.sizeBytes;
  const sequencesPerThread = set.SEQUENCES_PER_THREAD ?? (small ? 1 : LARGE_MODEL_SEQUENCES);
  // The KV caches of every sequence must fit beside the weights: fewer contexts (never fewer than 1) if not.
  const fittingContexts = kvPerSequence > 0 ? Math.floor(room / (poolThreads * sequencesPerThread * kvPerSequence)) : contextsWanted;
  const contextsPerThread = set.CONTEXTS_PER_THREAD ?? Math.max(1, Math.min(contextsWanted, fittingContexts));
  const llamaThreads = llamaSet ?? Math.max(1, Math.floor(cores / (poolThreads * contextsPerThread)));

  const mark = (value: number | undefined) => (value === undefined ? '' : ' (set)');
  const chosen = [
    `POOL_THREADS=${poolThreads}${mark(set.POOL_THREADS)}`,
    `CONTEXTS_PER_THREAD=${contextsPerThread}${mark(set.CONTEXTS_PER_THREAD)}`,
    `SEQUENCES_PER_THREAD=${sequencesPerThread}${mark(set.SEQUENCES_PER_THREAD)}`,
    `LLAMA_THREADS=${llamaThreads}${mark(set.LLAMA_THREADS)}`,
  ].join(', ');
  const why = small
    ? `the model's ${mib(facts.sizeBytes)} are under ${mib(SMALL_MODEL_BYTES)}: its tokens are cheap, so one single-threaded pool thread per core (${cores} cores), each with its own copy`
    : `the model's ${mib(facts.sizeBytes)} are ${mib(SMALL_MODEL_BYTES)} or more: one pool thread holds one copy of the weights, with single-sequence contexts decoding in parallel on the ${cores} cores` +
      (kvPerSequence > 0 ? `; ${mib(kvPerSequence)} of KV cache per sequence at context ${contextSize}, ${mib(machine.memoryBytes)} of memory` : '');
  return { poolThreads, contextsPerThread, sequencesPerThread, llamaThreads, weightCopies: poolThreads, reason: `${chosen}: ${why}` };
}

/** libuv's own default size of its thread pool. */
const LIBUV_DEFAULT_POOL = 4;
/**
 * `UV_THREADPOOL_SIZE` the start scripts, the image and the test and bench processes give a
 * worker: the most contexts a default worker can have (4 pool threads × 8 contexts) plus libuv's 4.
 */
export const DECODE_POOL_SIZE = 36;

/**
 * node-llama-cpp decodes each context on a thread of libuv's pool, which the whole process shares
 * and which has 4 threads unless `UV_THREADPOOL_SIZE` (read by libuv when the process starts, so it
 * must be in the environment the process is started with) says more. With more contexts than
 * threads, the rest wait, and file and DNS work waits behind decoding. Returns a warning when the
 * pool is smaller than the contexts plus libuv's own 4, else undefined.
 */
export function decodePoolWarning(plan: Pick<InferencePlan, 'poolThreads' | 'contextsPerThread'>, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const size = Number(env.UV_THREADPOOL_SIZE) || LIBUV_DEFAULT_POOL;
  const contexts = plan.poolThreads * plan.contextsPerThread;
  if (size >= contexts + LIBUV_DEFAULT_POOL) return undefined;
  return `UV_THREADPOOL_SIZE is ${size}: ${contexts} llama.cpp contexts decode on libuv's thread pool, ` +
    `so at most ${Math.min(size, contexts)} at once, with file and DNS work waiting behind them; start the worker with UV_THREADPOOL_SIZE=${contexts + LIBUV_DEFAULT_POOL} or more`;
}

/**
 * Memory a model takes in a worker under `plan`: a copy of the weights per pool thread, and the KV
 * cache of every sequence at the context size. What WORKER_MEMORY_BUDGET is spent on.
 */
export function planMemoryBytes(
  facts: Pick<ModelFacts, 'sizeBytes' | 'shape' | 'trainContextSize'>,
  plan: Pick<InferencePlan, 'poolThreads' | 'contextsPerThread' | 'sequencesPerThread'>,
  contextSize: number,
): number {
  const context = Math.min(contextSize, facts.trainContextSize ?? contextSize);
  const kvPerSequence = facts.shape ? kvBytesPerToken(facts.shape) * context : 0;
  return plan.poolThreads * (facts.sizeBytes + plan.contextsPerThread * plan.sequencesPerThread * kvPerSequence);
}

/** The default WORKER_MEMORY_BUDGET: the share of the machine's memory a default plan may take. */
export const defaultMemoryBudget = (machine: Machine = thisMachine()): number => Math.floor(machine.memoryBytes * MEMORY_SHARE);
