import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Job, Queue, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, http, redisUrl, TINY_MODEL } from '../support/stack.ts';
import { spawnRole, stopRole, READY_LINE, type RoleProcess } from '../support/processes.ts';
import { repo, run } from './tools.ts';

const JOBS = 50;

/**
 * The processes the containers run (`node dist/<role>/main.js`), two of each role, on one Redis:
 * what `docker compose up --scale api=2 --scale worker=2` starts, without Docker.
 */
describe('two API and two worker processes from the build, on one Redis', () => {
  const prefix = `t-mp-${randomUUID().slice(0, 8)}`;
  const apis: { proc: RoleProcess; base: string }[] = [];
  const workers: RoleProcess[] = [];
  let redis: Redis;
  // One models directory for all processes, as the compose stack's shared `models` volume.
  const modelsDir = mkdtempSync(path.join(os.tmpdir(), 'llmo-mp-models-'));

  beforeAll(async () => {
    const build = run('npm', ['run', 'build'], { cwd: repo() });
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);

    const env = {
      REDIS_URL: redisUrl(),
      REDIS_PREFIX: prefix,
      MODEL: TINY_MODEL,
      MODELS_DIR: modelsDir,
      CONTEXT_SIZE: '512',
      POOL_THREADS: '1',
      LLAMA_THREADS: '1',
      WORKER_METRICS_PORT: '0',
      SHUTDOWN_GRACE_MS: '2000',
    };
    for (let i = 0; i < 2; i++) workers.push(spawnRole('worker', env, { built: true }));
    // Each API binds a port the system picks (PORT=0) and logs it: no port can be taken in between.
    const apiProcs = [0, 1].map(() => spawnRole('api', { ...env, PORT: '0' }, { built: true }));
    await Promise.all(workers.map((p) => p.waitForLine(READY_LINE[p.role], 90_000)));
    for (const proc of apiProcs) {
      const line = await proc.waitForLine(READY_LINE.api, 90_000);
      apis.push({ proc, base: (JSON.parse(line) as { url: string }).url });
    }
    redis = new Redis(redisUrl());
  }, 240_000);

  afterAll(async () => {
    await Promise.all([...apis.map((a) => a.proc), ...workers].map((p) => stopRole(p)));
    if (redis) {
      await deletePrefix(redis, prefix);
      await redis.quit();
    }
    rmSync(modelsDir, { recursive: true, force: true });
  }, 60_000);

  it(`completes ${JOBS} jobs submitted across both APIs, run by both workers`, async () => {
    const started = performance.now();
    const accepted = await Promise.all(
      Array.from({ length: JOBS }, async (_, i) => {
        const api = apis[i % 2]!;
        const response = await http(api.base, 'POST', '/api/v1/jobs', {
          prompt: `Once upon a time, story ${i},`,
          max_tokens: 24,
          cache: false,
        });
        expect(response.status, JSON.stringify(response.body)).toBe(202);
        return { id: response.body.id as string, submittedTo: i % 2 };
      }),
    );
    expect(new Set(accepted.map((a) => a.id)).size).toBe(JOBS);

    // Each job is read back through the *other* API: both see the one queue.
    const views = await Promise.all(
      accepted.map(async ({ id, submittedTo }) => {
        const other = apis[1 - submittedTo]!;
        const deadline = Date.now() + 120_000;
        for (;;) {
          const { body } = await http(other.base, 'GET', `/api/v1/jobs/${id}`);
          if (body.status !== 'waiting' && body.status !== 'active') return body;
          if (Date.now() > deadline) throw new Error(`job ${id} still ${body.status}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }),
    );
    const elapsedMs = performance.now() - started;
    expect(views.map((v) => v.status)).toEqual(Array.from({ length: JOBS }, () => 'completed'));
    for (const view of views) expect(view.result.usage.completion_tokens, JSON.stringify(view)).toBeGreaterThan(0);

    // BullMQ records the worker's name on each job; the name carries the worker's pid.
    const queue = new Queue('generate', { connection: redis as unknown as ConnectionOptions, prefix });
    const processedBy = await Promise.all(accepted.map(async ({ id }) => (await Job.fromId(queue, id))?.processedBy ?? ''));
    await queue.close();
    const perWorker = workers.map((w) => processedBy.filter((name) => name.split(':')[1] === String(w.child.pid)).length);
    const perApi = [0, 1].map((i) => accepted.filter((a) => a.submittedTo === i).length);
    console.info(`${JOBS} jobs in ${Math.round(elapsedMs)} ms; accepted per API ${perApi.join('/')}, run per worker ${perWorker.join('/')}`);

    expect(perApi).toEqual([JOBS / 2, JOBS / 2]);
    expect(perWorker[0]! + perWorker[1]!).toBe(JOBS);
    expect(perWorker[0]).toBeGreaterThan(0);
    expect(perWorker[1]).toBeGreaterThan(0);
  }, 180_000);
});
