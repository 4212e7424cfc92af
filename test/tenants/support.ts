import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { digestSetting } from '../../core/key-digest.ts';
import { READY_LINE, spawnRole, stopRole, type RoleProcess } from '../../tools/role-process.ts';
import { parseExposition, type Sample } from '../metrics/exposition.ts';
import { deletePrefix, http, redisUrl, TEST_MODELS_DIR, TINY_MODEL, type JsonResponse } from '../support/stack.ts';

export interface TenantSpec {
  name: string;
  role?: 'user' | 'admin';
  limits?: { max_jobs?: number; tokens_per_day?: number };
}

export const auth = (key: string) => ({ authorization: `Bearer ${key}` });

/**
 * Two API processes (and a worker process when asked) on one Redis prefix, with tenants from a
 * keys file: the deployment the tenant limits must hold across.
 */
export class TenantCluster {
  readonly prefix = `t-ten-${randomUUID().slice(0, 8)}`;
  readonly keys: Record<string, string> = {};
  readonly apis: string[] = [];
  /** The worker's /metrics, when a worker runs. */
  workerMetricsUrl = '';
  readonly redis = new Redis(redisUrl());
  private readonly processes: RoleProcess[] = [];

  private constructor(
    readonly env: Record<string, string>,
    private readonly dir: string,
  ) {}

  static async start(options: { tenants: TenantSpec[]; env?: Record<string, string>; worker: boolean }): Promise<TenantCluster> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-tenant-limits-'));
    const file = path.join(dir, 'keys.json');
    const cluster = new TenantCluster({
      REDIS_URL: redisUrl(),
      MODEL: TINY_MODEL,
      MODELS_DIR: TEST_MODELS_DIR,
      CONTEXT_SIZE: '512',
      POOL_THREADS: '1',
      LLAMA_THREADS: '1',
      WORKER_METRICS_PORT: '0',
      JOB_BACKOFF_MS: '200',
      API_KEYS_FILE: file,
      PORT: '0',
      ...options.env,
    }, dir);
    cluster.env.REDIS_PREFIX = cluster.prefix;
    const tenants = options.tenants.map((tenant) => {
      const key = `${tenant.name}-key-${randomUUID()}`;
      cluster.keys[tenant.name] = key;
      return { name: tenant.name, role: tenant.role ?? 'user', keys: [digestSetting(key)], limits: tenant.limits ?? {} };
    });
    writeFileSync(file, JSON.stringify({ tenants }));
    const worker = options.worker ? cluster.spawn('worker') : undefined;
    const apis = [cluster.spawn('api'), cluster.spawn('api')];
    for (const api of apis) cluster.apis.push((JSON.parse(await api.waitForLine(READY_LINE.api, 90_000)) as { url: string }).url);
    if (worker) {
      await worker.waitForLine(READY_LINE.worker, 90_000);
      const line = JSON.parse(await worker.waitForLine('worker metrics listening')) as { port: number };
      cluster.workerMetricsUrl = `http://127.0.0.1:${line.port}/metrics`;
    }
    return cluster;
  }

  private spawn(role: 'api' | 'worker'): RoleProcess {
    const proc = spawnRole(role, this.env);
    this.processes.push(proc);
    return proc;
  }

  /** The API process `i` (0 or 1; any integer alternates). */
  api(i: number): string {
    return this.apis[i % 2] ?? '';
  }

  /** A request as tenant `tenant`. */
  async as<T = any>(tenant: string, api: number, method: string, route: string, body?: unknown): Promise<JsonResponse<T>> {
    return await http<T>(this.api(api), method, route, body, auth(this.keys[tenant] ?? 'no-such-key'));
  }

  /** Every log line of every process: none may contain a key. */
  logLines(): string[] {
    return this.processes.flatMap((proc) => proc.lines);
  }

  /** Samples of `name` from the worker's and both APIs' /metrics (what Prometheus's sum() adds up). */
  async scrape(name: string): Promise<Sample[]> {
    const urls = [...this.apis.map((api) => `${api}/metrics`), ...(this.workerMetricsUrl ? [this.workerMetricsUrl] : [])];
    const texts = await Promise.all(urls.map(async (url) => await (await fetch(url)).text()));
    return texts.flatMap((text) => parseExposition(text).filter((sample) => sample.name === name));
  }

  async close(): Promise<void> {
    await Promise.all(this.processes.map((proc) => stopRole(proc)));
    await deletePrefix(this.redis, this.prefix);
    await this.redis.quit();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The sum of `samples` whose labels include `labels`. */
export function sumOf(samples: Sample[], labels: Record<string, string>): number {
  return samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
}

/** Polls `read` until `done` holds (or fails after `timeoutMs` with the last value). */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
