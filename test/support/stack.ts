import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { finishApp } from '../../api/app.ts';
import { startApiService, type ApiService } from '../../api/api-service.ts';
import { loadConfig, type Config } from '../../core/config.ts';
import { listen } from '../../core/http/listen.ts';
import { createLogger } from '../../core/logger.ts';
import { SHARED_TINY_MODEL } from '../../core/model/model-naming.ts';
import { startWorkerService, type WorkerService } from '../../worker/worker-service.ts';

export const TINY_MODEL = SHARED_TINY_MODEL;
export const TEST_MODELS_DIR = path.join(os.tmpdir(), 'llmo-test-models');

/** The Redis of this test run (see global-redis.ts). */
export function redisUrl(): string {
  return inject('redisUrl');
}

/** A configuration with its own key prefix, so tests never see each other's jobs. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: `t-${randomUUID().slice(0, 8)}`,
    MODEL: TINY_MODEL,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Quantized copies go to one temp dir per machine, never into the project or ../shared.
    MODELS_DIR: TEST_MODELS_DIR,
    CONTEXT_SIZE: '512',
    POOL_THREADS: '1',
    LLAMA_THREADS: '1',
    JOB_BACKOFF_MS: '200',
    ...env,
  });
}

export interface TestStack {
  baseUrl: string;
  config: Config;
  api: ApiService;
  worker: WorkerService | undefined;
  server: Server;
  /** A plain Redis client for assertions. */
  redis: Redis;
  close(): Promise<void>;
}

/** API (on port 0) and, unless `worker: false`, a worker in this process, on the test Redis. */
export async function startStack(options: { env?: Record<string, string>; worker?: boolean } = {}): Promise<TestStack> {
  const config = testConfig(options.env);
  const logger = createLogger('test', config.LOG_LEVEL);
  const url = config.REDIS_URL ?? redisUrl();
  const worker = options.worker === false ? undefined : await startWorkerService(config, url, logger);
  const api = await startApiService(config, url, logger);
  finishApp(api.app, api.deps);
  const { server, port } = await listen(api.app, 0, '127.0.0.1');
  const redis = new Redis(url);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    config,
    api,
    worker,
    server,
    redis,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await worker?.close(0);
      await api.close();
      await deletePrefix(redis, config.REDIS_PREFIX);
      await redis.quit();
    },
  };
}

/**
 * Another API service on the stack's Redis and configuration, as a second replica is: its own
 * connections, queue events and app on a port of its own. Closed with the returned `close`.
 */
export async function addApi(stack: TestStack): Promise<{ baseUrl: string; api: ApiService; close(): Promise<void> }> {
  const logger = createLogger('test', stack.config.LOG_LEVEL);
  const api = await startApiService(stack.config, stack.config.REDIS_URL ?? redisUrl(), logger);
  finishApp(api.app, api.deps);
  const { server, port } = await listen(api.app, 0, '127.0.0.1');
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    api,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await api.close();
    },
  };
}

/** Every key under `prefix`, a batch at a time (SCAN: never blocks Redis as KEYS would). */
export async function* scanKeys(redis: Redis, prefix: string): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) yield keys;
  } while (cursor !== '0');
}

export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  for await (const keys of scanKeys(redis, prefix)) await redis.del(...keys);
}

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** fetch + JSON, for terse tests. */
export async function http<T = any>(baseUrl: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse<T>> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/** Polls a job until it leaves waiting/active. */
export async function pollUntilDone(baseUrl: string, id: string, timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await http(baseUrl, 'GET', `/api/v1/jobs/${id}`);
    if (body.status !== 'waiting' && body.status !== 'active') return body;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${body.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
