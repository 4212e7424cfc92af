import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestSetting } from '../../core/key-digest.ts';
import { READY_LINE, spawnRole, stopRole, type RoleProcess } from '../../tools/role-process.ts';
import { readSse } from '../openai/sse.ts';
import { deletePrefix, http, redisUrl, TEST_MODELS_DIR, TINY_MODEL } from '../support/stack.ts';

const KEYS = { a: `team-a-key-${randomUUID()}`, b: `team-b-key-${randomUUID()}`, ops: `ops-key-${randomUUID()}` };
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

/**
 * Two API processes and a worker on one Redis, with three tenants from a keys file: team-a and
 * team-b (users) and ops (admin). Whatever process a request reaches, a job is its tenant's alone.
 */
describe('jobs of one tenant, seen by another', () => {
  const prefix = `t-own-${randomUUID().slice(0, 8)}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-tenants-'));
  const processes: RoleProcess[] = [];
  const apis: string[] = [];
  let redis: Redis;

  async function startApi(env: Record<string, string>): Promise<string> {
    const proc = spawnRole('api', env);
    processes.push(proc);
    const line = await proc.waitForLine(READY_LINE.api, 90_000);
    return (JSON.parse(line) as { url: string }).url;
  }

  beforeAll(async () => {
    const keysFile = path.join(dir, 'keys.yaml');
    writeFileSync(
      keysFile,
      [
        'tenants:',
        `  - { name: team-a, keys: [${digestSetting(KEYS.a)}] }`,
        `  - { name: team-b, keys: [${digestSetting(KEYS.b)}] }`,
        `  - { name: ops, role: admin, keys: [${digestSetting(KEYS.ops)}] }`,
        '',
      ].join('\n'),
    );
    const env = {
      REDIS_URL: redisUrl(),
      REDIS_PREFIX: prefix,
      MODEL: TINY_MODEL,
      MODELS_DIR: TEST_MODELS_DIR,
      CONTEXT_SIZE: '2048',
      POOL_THREADS: '1',
      LLAMA_THREADS: '1',
      WORKER_METRICS_PORT: '0',
      API_KEYS_FILE: keysFile,
      PORT: '0',
    };
    const worker = spawnRole('worker', env);
    processes.push(worker);
    apis.push(...(await Promise.all([startApi(env), startApi(env)])));
    await worker.waitForLine(READY_LINE.worker, 90_000);
    redis = new Redis(redisUrl());
    // Each API process keys its cache by the model the workers report, which it reads every 2 s
    // (before that, by the model its configuration predicts): past one such read after the worker
    // published its model, both key identical requests alike. Checked, not assumed, below.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const warmUp = { prompt: 'Warm up', max_tokens: 2, temperature: 0 };
    for (const api of apis) await http(api, 'POST', '/api/v1/generate', warmUp, auth(KEYS.a));
    const deadline = Date.now() + 15_000;
    while (!(await Promise.all(apis.map(async (api) => (await http(api, 'POST', '/api/v1/generate', warmUp, auth(KEYS.a))).body.cached))).every(Boolean)) {
      if (Date.now() > deadline) throw new Error('the API processes never agreed on the served model');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all(processes.map((proc) => stopRole(proc)));
    await deletePrefix(redis, prefix);
    await redis?.quit();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const [first, second] = [() => apis[0] ?? '', () => apis[1] ?? ''];

  it("reads as unknown to another tenant, on either API process, and as itself to its own tenant and an admin", async () => {
    const created = await http(first(), 'POST', '/api/v1/jobs', { prompt: 'Once upon a time', max_tokens: 16, cache: false }, auth(KEYS.a));
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    const unknown = await http(second(), 'GET', `/api/v1/jobs/${randomUUID()}`, undefined, auth(KEYS.b));

    for (const api of [first(), second()]) {
      expect((await http(api, 'GET', `/api/v1/jobs/${id}`, undefined, auth(KEYS.a))).status).toBe(200);
      expect((await http(api, 'GET', `/api/v1/jobs/${id}`, undefined, auth(KEYS.ops))).status).toBe(200);
      const other = await http(api, 'GET', `/api/v1/jobs/${id}`, undefined, auth(KEYS.b));
      expect(other.status).toBe(404);
      // The same answer as for an id that does not exist, but for the id itself.
      expect(other.body.error.code).toBe(unknown.body.error.code);
      expect(other.body.error.message.replace(id, '<id>')).toBe(unknown.body.error.message.replace(/[0-9a-f-]{36}/, '<id>'));
    }
  });

  it("refuses another tenant's event stream, and streams the job to its own tenant and an admin", async () => {
    const created = await http(first(), 'POST', '/api/v1/jobs', { prompt: 'Once upon a time', max_tokens: 16, cache: false }, auth(KEYS.a));
    const id = created.body.id as string;
    const refused = await fetch(`${second()}/api/v1/jobs/${id}/events`, { headers: auth(KEYS.b) });
    expect(refused.status).toBe(404);
    await refused.text();
    for (const key of [KEYS.a, KEYS.ops]) {
      const response = await fetch(`${second()}/api/v1/jobs/${id}/events`, { headers: auth(key) });
      expect(response.status).toBe(200);
      let ended = false;
      await readSse(response, (event) => {
        ended = event.event === 'end';
        return ended;
      });
      expect(ended).toBe(true);
    }
  });

  it("answers another tenant's cancel as unknown and leaves the job running; an admin may cancel it", async () => {
    const created = await http(first(), 'POST', '/api/v1/jobs', { prompt: 'Once upon a time', max_tokens: 1500, cache: false }, auth(KEYS.a));
    const id = created.body.id as string;
    const refused = await http(second(), 'DELETE', `/api/v1/jobs/${id}`, undefined, auth(KEYS.b));
    expect(refused.status).toBe(404);
    expect((await http(first(), 'GET', `/api/v1/jobs/${id}`, undefined, auth(KEYS.a))).body.status).not.toBe('cancelled');
    const cancelled = await http(second(), 'DELETE', `/api/v1/jobs/${id}`, undefined, auth(KEYS.ops));
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
  });

  it("keeps cached answers and in-flight jobs within a tenant: another tenant's identical request runs a job of its own", async () => {
    const request = { prompt: `Once upon a time ${randomUUID()}`, max_tokens: 8, temperature: 0 };
    const mine = await http(first(), 'POST', '/api/v1/generate', request, auth(KEYS.a));
    expect(mine.body.cached).toBe(false);
    const again = await http(second(), 'POST', '/api/v1/generate', request, auth(KEYS.a));
    expect(again.body.cached).toBe(true);
    expect(again.body.id).toMatch(/^c-/);

    const theirs = await http(second(), 'POST', '/api/v1/generate', request, auth(KEYS.b));
    expect(theirs.status).toBe(200);
    expect(theirs.body.cached).toBe(false);
    expect(theirs.body.text).toBe(mine.body.text);
    // Team b cannot read team a's cached answer by its id either.
    expect((await http(first(), 'GET', `/api/v1/jobs/${again.body.id}`, undefined, auth(KEYS.b))).status).toBe(404);
    expect((await http(first(), 'GET', `/api/v1/jobs/${again.body.id}`, undefined, auth(KEYS.a))).status).toBe(200);

    // In flight: identical requests of two tenants get two jobs, of one tenant one. A long job ahead
    // keeps them waiting, so none can finish (and stop being shared) while the others arrive.
    const blocker = await http(first(), 'POST', '/api/v1/jobs', { prompt: 'Once upon a time', max_tokens: 1800, cache: false }, auth(KEYS.ops));
    const long = { prompt: `Once upon a time ${randomUUID()}`, max_tokens: 600, temperature: 0 };
    const a1 = await http(first(), 'POST', '/api/v1/jobs', long, auth(KEYS.a));
    const a2 = await http(second(), 'POST', '/api/v1/jobs', long, auth(KEYS.a));
    const b1 = await http(second(), 'POST', '/api/v1/jobs', long, auth(KEYS.b));
    expect(a2.body.id).toBe(a1.body.id);
    expect(b1.body.id).not.toBe(a1.body.id);
    for (const [id, key] of [[blocker.body.id, KEYS.ops], [a1.body.id, KEYS.a], [b1.body.id, KEYS.b]] as const) {
      await http(first(), 'DELETE', `/api/v1/jobs/${id}`, undefined, auth(key));
    }
  });

  it('lets an OpenAI client of another tenant share nothing either', async () => {
    const body = { model: 'stories260K', prompt: `Once upon a time ${randomUUID()}`, max_tokens: 8, temperature: 0 };
    const a = await fetch(`${first()}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth(KEYS.a) }, body: JSON.stringify(body) });
    const b = await fetch(`${second()}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth(KEYS.b) }, body: JSON.stringify(body) });
    expect([a.status, b.status]).toEqual([200, 200]);
    const [jobA, jobB] = [a.headers.get('x-job-id'), b.headers.get('x-job-id')];
    await Promise.all([a.text(), b.text()]);
    expect(jobB).not.toBe(jobA);
    expect((await http(first(), 'GET', `/api/v1/jobs/${jobA}/events`, undefined, auth(KEYS.b))).status).toBe(404);
  });
});

describe('with CACHE_SCOPE=global', () => {
  const prefix = `t-glob-${randomUUID().slice(0, 8)}`;
  let api: RoleProcess;
  let worker: RoleProcess;
  let base = '';

  beforeAll(async () => {
    const env = {
      REDIS_URL: redisUrl(),
      REDIS_PREFIX: prefix,
      MODEL: TINY_MODEL,
      MODELS_DIR: TEST_MODELS_DIR,
      CONTEXT_SIZE: '512',
      POOL_THREADS: '1',
      LLAMA_THREADS: '1',
      WORKER_METRICS_PORT: '0',
      API_KEYS: `team-a=${KEYS.a},team-b=${digestSetting(KEYS.b)}`,
      CACHE_SCOPE: 'global',
      PORT: '0',
    };
    worker = spawnRole('worker', env);
    api = spawnRole('api', env);
    base = (JSON.parse(await api.waitForLine(READY_LINE.api, 90_000)) as { url: string }).url;
    await worker.waitForLine(READY_LINE.worker, 90_000);
    // Cache keys name the model the workers publish; until the API has read it (it looks every 2 s),
    // they name the one configuration predicts, and two requests either side of that read share nothing.
    while (((await http(base, 'GET', '/v1/models', undefined, auth(KEYS.a))).body.data ?? []).length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    await new Promise((resolve) => setTimeout(resolve, 2500));
  }, 180_000);

  afterAll(async () => {
    await Promise.all([api, worker].filter(Boolean).map((proc) => stopRole(proc)));
    const redis = new Redis(redisUrl());
    await deletePrefix(redis, prefix);
    await redis.quit();
  }, 60_000);

  it("answers one tenant from another's cached result, as the setting says", async () => {
    const request = { prompt: `Once upon a time ${randomUUID()}`, max_tokens: 8, temperature: 0 };
    expect((await http(base, 'POST', '/api/v1/generate', request, auth(KEYS.a))).body.cached).toBe(false);
    const theirs = await http(base, 'POST', '/api/v1/generate', request, auth(KEYS.b));
    expect(theirs.body.cached).toBe(true);
  });
});
