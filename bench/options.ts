import { SHARED_TINY_MODEL } from '../core/model/model-naming.ts';

/** The real-size model of the default run: random weights of Qwen2.5-0.5B's shape, made offline. */
export const DEFAULT_LARGE_MODEL = 'synth:qwen2.5-0.5b';
/** Pairs that depend on the model's size; the others (queue, cache hits, INT8) run on the first model only. */
export const MODEL_PAIRS = [1, 2, 5, 7];

/** What one `npm run bench` does; every field has an environment variable (see docs/benchmarks.md). */
export interface BenchOptions {
  /**
   * Models to measure, each a file or `synth:<preset>`, in order. `BENCH_MODEL` (comma-separated),
   * default the shared stories260K then `synth:qwen2.5-0.5b`. The first runs every pair of
   * BENCH_PAIRS; the others only the pairs that depend on the model's size (1, 2, 5 and 7).
   */
  models: string[];
  /** Where `synth:` models (and their Q8_0 copies) are made once and kept. `MODELS_DIR`, default `models`. */
  modelsDir: string;
  /** Interleaved rounds per pair. `BENCH_ROUNDS`, default 5. */
  rounds: number;
  /** Length of one timed load phase (throughput, queue, cache hits) in ms. `BENCH_DURATION_MS`, default 4000. */
  durationMs: number;
  /** Sequential requests per round in the single-request pair. `BENCH_LATENCY_REQUESTS`, default 30. */
  latencyRequests: number;
  /** Concurrent clients of the throughput pair. `BENCH_CLIENTS`, default `1,4,16`. */
  clients: number[];
  /**
   * Pool threads × [contexts per thread ×] sequences per context of the settings pair, optionally `@<llama.cpp threads>`.
   * `BENCH_SETTINGS`, default `1x1@1,1x2@1,2x1,2x2,1x2`; the system's default settings are always included.
   */
  settings: BenchSetting[];
  /** Pair 5's settings on a large model (the first models' are tuned for a tiny one). `BENCH_LARGE_SETTINGS`, default `1x1@1,2x1@1,1x4@2,1x2x1@1,1x2x2@1`. */
  largeSettings: BenchSetting[];
  /** Clients of the queue pair (max_tokens 1 / no-op jobs). `BENCH_QUEUE_CLIENTS`, default 8. */
  queueClients: number;
  /** HTTP connections of autocannon in the cache-hit pair. `BENCH_CONNECTIONS`, default 16. */
  connections: number;
  /** llama.cpp threads per pool thread on both sides; unset = the system's default (cores ÷ pool threads). `BENCH_LLAMA_THREADS`. */
  llamaThreads: number | undefined;
  /** Pairs to run (1–7). `BENCH_PAIRS`, default all. */
  pairs: number[];
  /** Run the system from sources through tsx instead of `dist/` (the smoke test does). `BENCH_FROM_SOURCES=1`. */
  fromSources: boolean;
  /** Skip `npm run build` (the build is used as it is). `BENCH_SKIP_BUILD=1`. */
  skipBuild: boolean;
  /** Where the JSON results go. `BENCH_OUT_DIR`, default `bench/results`. */
  outDir: string;
  /** The generated report. `BENCH_DOCS`, default `docs/benchmarks.md`. */
  docsPath: string;
}

const int = (value: string | undefined, fallback: number, name: string): number => {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${value}"`);
  return n;
};

export interface BenchSetting {
  poolThreads: number;
  /** Contexts per pool thread; 1 unless given. */
  contexts?: number;
  sequences: number;
  /** llama.cpp threads per pool thread; undefined: BENCH_LLAMA_THREADS, else the system's default. */
  llamaThreads?: number;
}

export function parseSettings(value: string): BenchSetting[] {
  return value.split(',').map((item) => {
    const match = /^\s*(\d+)\s*x\s*(\d+)\s*(?:x\s*(\d+))?\s*(?:@\s*(\d+))?\s*$/i.exec(item);
    if (!match?.[1] || !match[2]) {
      throw new Error(`BENCH_SETTINGS: "${item}" is not <pool threads>x[<contexts>x]<sequences>[@<llama.cpp threads>]`);
    }
    const [pool, second, third, threads] = [match[1], match[2], match[3], match[4]].map((v) => (v === undefined ? undefined : Number(v)));
    return {
      poolThreads: pool ?? 1,
      ...(third === undefined ? { sequences: second ?? 1 } : { contexts: second ?? 1, sequences: third }),
      ...(threads === undefined ? {} : { llamaThreads: threads }),
    };
  });
}

export function benchOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): BenchOptions {
  return {
    models: (env.BENCH_MODEL || `${SHARED_TINY_MODEL},${DEFAULT_LARGE_MODEL}`).split(',').map((m) => m.trim()).filter(Boolean),
    modelsDir: env.MODELS_DIR || 'models',
    rounds: int(env.BENCH_ROUNDS, 5, 'BENCH_ROUNDS'),
    durationMs: int(env.BENCH_DURATION_MS, 4000, 'BENCH_DURATION_MS'),
    latencyRequests: int(env.BENCH_LATENCY_REQUESTS, 30, 'BENCH_LATENCY_REQUESTS'),
    clients: (env.BENCH_CLIENTS || '1,4,16').split(',').map((c) => int(c.trim(), 1, 'BENCH_CLIENTS')),
    settings: parseSettings(env.BENCH_SETTINGS || '1x1@1,1x2@1,2x1,2x2,1x2'),
    largeSettings: parseSettings(env.BENCH_LARGE_SETTINGS || '1x1@1,2x1@1,1x4@2,1x2x1@1,1x2x2@1'),
    queueClients: int(env.BENCH_QUEUE_CLIENTS, 8, 'BENCH_QUEUE_CLIENTS'),
    connections: int(env.BENCH_CONNECTIONS, 16, 'BENCH_CONNECTIONS'),
    llamaThreads: env.BENCH_LLAMA_THREADS ? int(env.BENCH_LLAMA_THREADS, 1, 'BENCH_LLAMA_THREADS') : undefined,
    pairs: (env.BENCH_PAIRS || '1,2,3,4,5,6,7').split(',').map((p) => int(p.trim(), 1, 'BENCH_PAIRS')),
    fromSources: env.BENCH_FROM_SOURCES === '1',
    skipBuild: env.BENCH_SKIP_BUILD === '1',
    outDir: env.BENCH_OUT_DIR || 'bench/results',
    docsPath: env.BENCH_DOCS || 'docs/benchmarks.md',
  };
}
