import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, LocalRedis } from '../../../core/local-redis.ts';
import { SHARED_TINY_MODEL } from '../../../core/model/model-naming.ts';
import { projectRoot } from '../../../core/paths.ts';
import { READY_LINE, spawnRole, stopRole, type RoleProcess } from '../../support/processes.ts';

/**
 * A small deployment for chaos tests: its own redis-server (AOF on, temp dir, free port), and
 * API and worker processes started as operators start them, which the tests then kill for real.
 */
export class ChaosCluster {
  readonly prefix = `chaos-${randomUUID().slice(0, 8)}`;
  readonly processes = new Set<RoleProcess>();
  /** A plain client for assertions; it waits through Redis restarts. */
  readonly redis: Redis;

  private constructor(
    readonly server: LocalRedis,
    private readonly env: Record<string, string>,
  ) {
    this.redis = new Redis(server.url, { maxRetriesPerRequest: null });
    this.redis.on('error', () => undefined);
  }

  static async start(env: Record<string, string> = {}): Promise<ChaosCluster> {
    const server = await LocalRedis.start({ appendOnly: true });
    mkdirSync(path.join(server.dir, 'models'));
    return new ChaosCluster(server, env);
  }

  /** Environment every process of the cluster shares (one llama.cpp thread each: 2 cores). */
  baseEnv(): Record<string, string> {
    return {
      REDIS_URL: this.server.url,
      REDIS_PREFIX: this.prefix,
      MODEL: SHARED_TINY_MODEL,
      CONTEXT_SIZE: '512',
      LLAMA_THREADS: '1',
      POOL_THREADS: '1',
      WORKER_METRICS_PORT: '0',
      JOB_BACKOFF_MS: '200',
      MODELS_DIR: path.join(this.server.dir, 'models'),
      LOG_LEVEL: 'info',
      ...this.env,
    };
  }

  async startApi(env: Record<string, string> = {}): Promise<{ proc: RoleProcess; baseUrl: string }> {
    const port = await freePort();
    const proc = spawnRole('api', { ...this.baseEnv(), HOST: '127.0.0.1', PORT: String(port), ...env });
    this.processes.add(proc);
    await proc.waitForLine(READY_LINE.api);
    return { proc, baseUrl: `http://127.0.0.1:${port}` };
  }

  /** Starts a worker; `ready: false` returns at once (a supervisor restarting crashed workers does). */
  async startWorker(env: Record<string, string> = {}, options: { ready?: boolean } = {}): Promise<RoleProcess> {
    const proc = spawnRole('worker', { ...this.baseEnv(), ...env });
    this.processes.add(proc);
    void proc.exited.then(() => this.processes.delete(proc));
    if (options.ready !== false) await proc.waitForLine(READY_LINE.worker, 90_000);
    return proc;
  }

  get queueKey(): string {
    return `${this.prefix}:generate`;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.processes].map((proc) => stopRole(proc, 5000)));
    this.redis.disconnect();
    await this.server.stop();
  }
}

/** fetch + JSON with a time budget, returning how long the answer took. */
export async function request(
  baseUrl: string,
  method: string,
  route: string,
  options: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ status: number; headers: Headers; body: any; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${baseUrl}${route}`, {
    method,
    headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
    ...(options.body === undefined ? {} : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
    signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, body, ms: performance.now() - started };
}

/** Resident memory of a process in bytes, from /proc (Linux). */
export function residentBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match?.[1]) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** Figures a chaos test measured, kept in test-results/chaos/ for the record (and printed). */
export function recordFigures(name: string, figures: Record<string, unknown>): void {
  const dir = path.join(projectRoot, 'test-results', 'chaos');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${name}.json`), `${JSON.stringify(figures, null, 2)}\n`);
  console.log(`[${name}] ${JSON.stringify(figures)}`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
