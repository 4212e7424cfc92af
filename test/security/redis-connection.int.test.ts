import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort, LocalRedis } from '../../core/local-redis.ts';
import { READY_LINE, spawnRole, stopRole, type Role, type RoleProcess } from '../support/processes.ts';
import { TINY_MODEL } from '../support/stack.ts';
import { startRedisServer, type RedisServer } from './redis-server.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
/** A self-signed certificate for 127.0.0.1 (valid until 2126), made for these tests only. */
const CERT = path.join(FIXTURES, 'redis-tls.crt');
const KEY = path.join(FIXTURES, 'redis-tls.key');

const MODELS_DIR = mkdtempSync(path.join(os.tmpdir(), 'llmo-models-'));

const roleEnv = (redisUrl: string, extra: Record<string, string> = {}) => ({
  REDIS_URL: redisUrl,
  MODELS_DIR,
  REDIS_PREFIX: `sec-${randomUUID().slice(0, 8)}`,
  MODEL: TINY_MODEL,
  LLAMA_THREADS: '1',
  POOL_THREADS: '1',
  CONTEXT_SIZE: '512',
  WORKER_METRICS_PORT: '0',
  HOST: '127.0.0.1',
  ...extra,
});

/** Runs a role that must refuse to start: resolves with its exit code and everything it printed. */
async function refusal(role: Role, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const proc = spawnRole(role, env);
  const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
  const { code } = await proc.exited;
  clearTimeout(timer);
  return { code, output: proc.lines.join('\n') };
}

describe('the Redis a process is given', () => {
  const cleanups: Array<() => Promise<void>> = [];
  const running: RoleProcess[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((proc) => stopRole(proc)));
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(() => rmSync(MODELS_DIR, { recursive: true, force: true }));
  /** Starts a role that must serve; it is stopped after the test even if it never gets ready. */
  const serve = async (role: Role, env: Record<string, string>) => {
    const proc = spawnRole(role, env);
    running.push(proc);
    await proc.waitForLine(READY_LINE[role]);
    return proc;
  };

  it('is refused by the API and the worker unless its maxmemory-policy is noeviction', async () => {
    const server = await LocalRedis.start();
    cleanups.push(() => server.stop());
    const admin = new Redis(server.url);
    cleanups.push(async () => void admin.disconnect());
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');

    for (const role of ['api', 'worker'] as const) {
      const { code, output } = await refusal(role, roleEnv(server.url, { PORT: String(await freePort()) }));
      expect(code, role).not.toBe(0);
      expect(output, role).toContain('cannot start: Redis maxmemory-policy is "allkeys-lru"');
      expect(output, role).toContain('cannot start');
    }

    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await serve('api', roleEnv(server.url, { PORT: String(await freePort()) }));
  });

  it('is trusted with a warning when it forbids CONFIG (managed services set the policy elsewhere)', async () => {
    const server = await startRedisServer(['--port', '{port}', '--rename-command', 'CONFIG', '""'], (port) => ({ port }));
    cleanups.push(() => server.stop());
    const api = await serve('api', roleEnv(`redis://127.0.0.1:${server.port}`, { PORT: String(await freePort()) }));
    expect(api.lines.some((line) => line.includes('cannot read maxmemory-policy'))).toBe(true);
  });

  describe('with a password', () => {
    let server: RedisServer;
    const start = async () => {
      server = await startRedisServer(['--port', '{port}', '--requirepass', 'correct-horse-battery'], (port) => ({ port, password: 'correct-horse-battery' }));
      cleanups.push(() => server.stop());
    };

    it('serves when REDIS_URL carries it', async () => {
      await start();
      const port = await freePort();
      await serve('api', roleEnv(`redis://:correct-horse-battery@127.0.0.1:${server.port}`, { PORT: String(port) }));
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 4 }),
      });
      expect(response.status).toBe(202);
    });

    it('stops the API and the worker at once with a clear message when it is wrong or missing', async () => {
      await start();
      const cases = [
        ['api', `redis://:wrong-password@127.0.0.1:${server.port}`],
        ['worker', `redis://127.0.0.1:${server.port}`],
      ] as const;
      for (const [role, url] of cases) {
        const { code, output } = await refusal(role, roleEnv(url, { PORT: String(await freePort()) }));
        expect(code, `${role} ${url}`).toBe(1);
        expect(output, `${role} ${url}`).toContain("Redis refused the connection's credentials");
        expect(output).not.toContain('wrong-password');
      }
    });
  });

  describe('over TLS (rediss://)', () => {
    let server: RedisServer;
    const start = async () => {
      server = await startRedisServer(
        ['--port', '0', '--tls-port', '{port}', '--tls-cert-file', CERT, '--tls-key-file', KEY, '--tls-ca-cert-file', CERT, '--tls-auth-clients', 'no'],
        (port) => ({ port, tls: { ca: readFileSync(CERT) } }),
      );
      cleanups.push(() => server.stop());
    };

    it('runs a job end to end: API and worker both speak TLS to Redis', async () => {
      await start();
      const port = await freePort();
      const env = roleEnv(`rediss://127.0.0.1:${server.port}`, { PORT: String(port), NODE_EXTRA_CA_CERTS: CERT });
      await serve('api', env);
      await serve('worker', env);
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 8, temperature: 0 }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { text: string; usage: { completion_tokens: number } };
      expect(body.usage.completion_tokens).toBe(8);
    });

    it('refuses a certificate it cannot verify, with a clear message', async () => {
      await start();
      const { code, output } = await refusal('api', roleEnv(`rediss://127.0.0.1:${server.port}`, { PORT: String(await freePort()) }));
      expect(code).toBe(1);
      expect(output).toContain('TLS connection to Redis failed');
    });
  });
});
