import { describe, expect, it } from 'vitest';
import { DECODE_POOL_SIZE, decodePoolWarning, planInference, SMALL_MODEL_BYTES } from '../../core/model/inference-plan.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const machine = { cores: 2, memoryBytes: 24 * GiB };
const defaults = { CONTEXT_SIZE: 2048 };
/** stories260K's Q8_0 copy, and a Qwen2.5-0.5B shape at Q8_0 (24 layers, 14 heads, 2 KV heads, 896 wide). */
const tiny = { sizeBytes: 0.47 * MiB, shape: { layers: 5, embedding: 64, heads: 8, kvHeads: 4 }, trainContextSize: 512 };
const qwen = { sizeBytes: 507 * MiB, shape: { layers: 24, embedding: 896, heads: 14, kvHeads: 2 }, trainContextSize: 32768 };
const llama8b = { sizeBytes: 8 * GiB, shape: { layers: 32, embedding: 4096, heads: 32, kvHeads: 8 }, trainContextSize: 131072 };

describe('planInference: default settings from the model and the machine', () => {
  it('gives a small model one single-threaded pool thread per core', () => {
    const plan = planInference(tiny, defaults, machine);
    expect(plan).toMatchObject({ poolThreads: 2, contextsPerThread: 1, sequencesPerThread: 1, llamaThreads: 1, weightCopies: 2 });
    expect(plan.reason).toMatch(/^POOL_THREADS=2, CONTEXTS_PER_THREAD=1, SEQUENCES_PER_THREAD=1, LLAMA_THREADS=1: .*under 64 MiB/);
    expect(planInference(tiny, defaults, { cores: 16, memoryBytes: 64 * GiB }).poolThreads).toBe(4);
  });

  it('gives a large model one copy of the weights and single-threaded contexts: one per core, at least 4, at most 8', () => {
    const plan = planInference(qwen, defaults, machine);
    expect(plan).toMatchObject({ poolThreads: 1, contextsPerThread: 4, sequencesPerThread: 1, llamaThreads: 1, weightCopies: 1 });
    expect(plan.reason).toContain('one pool thread holds one copy of the weights');
    // 24 layers × 2 KV heads × 64 dims × 2 (K and V) × 2 bytes × 2048 tokens = 24 MiB.
    expect(plan.reason).toContain('24 MiB of KV cache per sequence at context 2048');
    expect(planInference(qwen, defaults, { cores: 8, memoryBytes: 24 * GiB })).toMatchObject({ contextsPerThread: 8, llamaThreads: 1 });
    expect(planInference(qwen, defaults, { cores: 1, memoryBytes: 24 * GiB })).toMatchObject({ contextsPerThread: 4, llamaThreads: 1 });
    // Beyond 8 contexts, the cores left over become llama.cpp threads of each.
    expect(planInference(qwen, defaults, { cores: 16, memoryBytes: 24 * GiB })).toMatchObject({ contextsPerThread: 8, llamaThreads: 2 });
  });

  it('takes fewer contexts when their KV caches and the weights would not fit the memory', () => {
    // 8 GiB of weights and 1 GiB of KV cache per sequence at 8192 tokens: 75% of 16 GiB leaves room for 4, of 24 GiB for 10.
    expect(planInference(llama8b, { CONTEXT_SIZE: 8192 }, { cores: 8, memoryBytes: 16 * GiB }).contextsPerThread).toBe(4);
    expect(planInference(llama8b, { CONTEXT_SIZE: 8192 }, { cores: 8, memoryBytes: 24 * GiB }).contextsPerThread).toBe(8);
    expect(planInference(llama8b, { CONTEXT_SIZE: 8192 }, { cores: 8, memoryBytes: 10 * GiB }).contextsPerThread).toBe(1);
  });

  it('caps the context at the trained one when sizing KV caches', () => {
    expect(planInference(tiny, { CONTEXT_SIZE: 8192 }, machine).reason).not.toContain('KV');
    expect(planInference(qwen, { CONTEXT_SIZE: 1 << 20 }, machine).reason).toContain('at context 32768');
  });

  it('lets every explicit setting win and derives the rest from it', () => {
    // The contexts a large model gets are spread over the pool threads asked for.
    expect(planInference(qwen, { ...defaults, POOL_THREADS: 2, SEQUENCES_PER_THREAD: 1 }, machine)).toMatchObject({
      poolThreads: 2,
      contextsPerThread: 2,
      sequencesPerThread: 1,
      llamaThreads: 1,
    });
    expect(planInference(tiny, { ...defaults, LLAMA_THREADS: 2 }, machine)).toMatchObject({ poolThreads: 1, llamaThreads: 2 });
    expect(planInference(tiny, { ...defaults, SEQUENCES_PER_THREAD: 3 }, machine)).toMatchObject({ poolThreads: 2, sequencesPerThread: 3 });
    // Contexts of several threads never share cores.
    const plan = planInference(qwen, { ...defaults, LLAMA_THREADS: 2 }, machine);
    expect(plan).toMatchObject({ poolThreads: 1, contextsPerThread: 1, llamaThreads: 2 });
    expect(plan.reason).toContain('LLAMA_THREADS=2 (set)');
    expect(planInference(qwen, { ...defaults, CONTEXTS_PER_THREAD: 1 }, machine)).toMatchObject({ contextsPerThread: 1, llamaThreads: 2 });
    expect(planInference(qwen, { ...defaults, CONTEXTS_PER_THREAD: 2, SEQUENCES_PER_THREAD: 3 }, machine)).toMatchObject({ contextsPerThread: 2, sequencesPerThread: 3, llamaThreads: 1 });
  });

  it('draws the line between small and large at SMALL_MODEL_BYTES', () => {
    expect(planInference({ ...qwen, sizeBytes: SMALL_MODEL_BYTES - 1 }, defaults, machine).poolThreads).toBe(2);
    expect(planInference({ ...qwen, sizeBytes: SMALL_MODEL_BYTES }, defaults, machine).poolThreads).toBe(1);
  });

  it('warns when libuv\'s pool, where contexts decode, is smaller than the contexts and libuv\'s own 4', () => {
    const plan = { poolThreads: 1, contextsPerThread: 4 };
    expect(decodePoolWarning({ poolThreads: 1, contextsPerThread: 2 }, {})).toContain('UV_THREADPOOL_SIZE is 4: 2 llama.cpp contexts');
    expect(decodePoolWarning(plan, { UV_THREADPOOL_SIZE: '7' })).toContain('UV_THREADPOOL_SIZE=8 or more');
    expect(decodePoolWarning(plan, { UV_THREADPOOL_SIZE: '8' })).toBeUndefined();
    expect(decodePoolWarning({ poolThreads: 4, contextsPerThread: 8 }, { UV_THREADPOOL_SIZE: String(DECODE_POOL_SIZE) })).toBeUndefined();
  });
});
