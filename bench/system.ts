import { readFileSync } from 'node:fs';
import { configSchema } from '../core/config.ts';
import { READY_LINE, spawnRole, stopRole, type RoleProcess } from '../tools/role-process.ts';

export interface StackSettings {
  poolThreads: number;
  /** llama.cpp contexts per pool thread (1 unless set). */
  contexts?: number;
  /** Sequences per context. */
  sequences: number;
  /** llama.cpp threads per pool thread; undefined leaves the system's default. */
  llamaThreads: number | undefined;
  /**
   * The system chooses its settings itself: only these are passed, and `poolThreads`, `sequences`
   * and `llamaThreads` are what it is expected to choose (the same plan, computed by the bench).
   */
  systemDefault?: { llamaThreads?: number | undefined };
}

export interface SystemStack {
  name: string;
  settings: StackSettings;
  baseUrl: string;
  /** Headers every request carries (the API key, when the API asks for one). */
  headers: Record<string, string>;
  api: RoleProcess;
  worker: RoleProcess;
  stop(): Promise<void>;
}

/** The key the bench configures when the API has API keys; clients send it as a bearer token. */
export const BENCH_API_KEY = 'bench-key-0123456789abcdef0123456789abcdef';

/**
 * Settings the bench passes only when the system knows them: security and metrics arrive
 * over time, and the bench measures whatever the full API does today.
 */
function optionalSettings(): { env: Record<string, string>; headers: Record<string, string> } {
  const known = new Set(Object.keys(configSchema.shape));
  const env: Record<string, string> = {};
  const headers: Record<string, string> = {};
  if (known.has('API_KEYS')) {
    env.API_KEYS = BENCH_API_KEY;
    headers.authorization = `Bearer ${BENCH_API_KEY}`;
  }
  // The limiter stays in the path (its cost is part of the API's) but must never refuse the load generator.
  if (known.has('RATE_LIMIT_REQUESTS')) env.RATE_LIMIT_REQUESTS = '1000000000';
  return { env, headers };
}

/** Contexts of a stack (pool threads × contexts per thread): the bare engine gets as many. */
export const contextsOf = (s: StackSettings) => s.poolThreads * (s.contexts ?? 1);

/** How a stack runs its model, e.g. `1 pool thread × 2 contexts × 2 sequences, 1 llama.cpp thread`. */
export function settingsLabel(s: StackSettings, llamaThreads: number): string {
  const contexts = s.contexts ?? 1;
  return `${s.poolThreads}×${contexts === 1 ? '' : `${contexts}×`}${s.sequences}, ${llamaThreads} llama.cpp thread${llamaThreads === 1 ? '' : 's'}`;
}

/** An API process and a worker process from the build (or sources), on their own key prefix. */
export async function startStack(
  name: string,
  settings: StackSettings,
  common: { redisUrl: string; model: string; fromSources: boolean; env: Record<string, string> },
): Promise<SystemStack> {
  const optional = optionalSettings();
  const env: Record<string, string> = {
    REDIS_URL: common.redisUrl,
    REDIS_PREFIX: `bench-${name}`,
    MODEL: common.model,
    HOST: '127.0.0.1',
    // The API binds a port the system picks and logs it: no other process can take it in between.
    PORT: '0',
    WORKER_METRICS_PORT: '0',
    ...(settings.systemDefault
      ? settings.systemDefault.llamaThreads === undefined
        ? {}
        : { LLAMA_THREADS: String(settings.systemDefault.llamaThreads) }
      : {
          POOL_THREADS: String(settings.poolThreads),
          CONTEXTS_PER_THREAD: String(settings.contexts ?? 1),
          SEQUENCES_PER_THREAD: String(settings.sequences),
          ...(settings.llamaThreads === undefined ? {} : { LLAMA_THREADS: String(settings.llamaThreads) }),
        }),
    ...optional.env,
    ...common.env,
  };
  const built = { built: !common.fromSources };
  const procs = [spawnRole('worker', env, built), spawnRole('api', env, built)] as const;
  const ready = await Promise.allSettled(procs.map((p) => p.waitForLine(READY_LINE[p.role])));
  const failed = ready.find((r) => r.status === 'rejected');
  if (failed) {
    // One role could not start: the other must not outlive the bench.
    await Promise.all(procs.map((p) => stopRole(p)));
    throw failed.reason;
  }
  const [worker, api] = procs;
  const apiReady = ready[1];
  const baseUrl = apiReady?.status === 'fulfilled' ? (JSON.parse(apiReady.value) as { url: string }).url : '';
  return {
    name,
    settings,
    baseUrl,
    headers: optional.headers,
    api,
    worker,
    async stop() {
      await Promise.all([stopRole(api), stopRole(worker)]);
    },
  };
}

/** Resident set size of a process in bytes (Linux), threads included. */
export function rssBytes(pid: number | undefined): number {
  return memoryOf(pid).rss;
}

export interface ProcessMemory {
  /** Resident set size: every resident page the process maps, shared ones counted in full. */
  rss: number;
  /** Proportional set size: a page shared by n mappings counts 1/n, so the same weights mapped twice count once. */
  pss: number;
}

/** RSS and PSS of a process in bytes, from `/proc/<pid>/smaps_rollup` (Linux); NaN when unreadable. */
export function memoryOf(pid: number | undefined): ProcessMemory {
  if (pid === undefined) return { rss: Number.NaN, pss: Number.NaN };
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kB = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(rollup)?.[1] ?? Number.NaN) * 1024;
    return { rss: kB('Rss'), pss: kB('Pss') };
  } catch {
    return { rss: Number.NaN, pss: Number.NaN };
  }
}

export type MemoryPeaks = Record<string, ProcessMemory>;

/** Samples the peak RSS and PSS of some processes while `work` runs. */
export async function peakMemoryDuring<T>(pids: Record<string, number | undefined>, work: () => Promise<T>, everyMs = 100) {
  const peaks: MemoryPeaks = Object.fromEntries(Object.keys(pids).map((k) => [k, { rss: 0, pss: 0 }]));
  const sample = () => {
    for (const [name, pid] of Object.entries(pids)) {
      const now = memoryOf(pid);
      const peak = peaks[name] ?? { rss: 0, pss: 0 };
      peaks[name] = { rss: Math.max(peak.rss, now.rss || 0), pss: Math.max(peak.pss, now.pss || 0) };
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  try {
    const value = await work();
    sample();
    return { value, peaks };
  } finally {
    clearInterval(timer);
  }
}
