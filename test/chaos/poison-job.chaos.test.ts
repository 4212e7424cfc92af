import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoleProcess } from '../support/processes.ts';
import { ChaosCluster, recordFigures, request, sleep } from './support/cluster.ts';

const HOOK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'support', 'poison-hook.mjs');
const MARKER = `poison-${randomUUID()}`;
const MAX_STALLED_COUNT = 2;

describe('a job that crashes its worker every time', () => {
  let cluster: ChaosCluster;
  let baseUrl: string;
  let crashes = 0;
  let supervising = true;
  const workers = new Set<RoleProcess>();

  /** Keeps two workers running, restarting any that dies, as a container restart policy does. */
  const supervise = async () => {
    const worker = await cluster.startWorker(
      { NODE_OPTIONS: `--import tsx --import ${HOOK}`, CHAOS_POISON_MARKER: MARKER },
      { ready: workers.size === 0 },
    );
    workers.add(worker);
    void worker.exited.then(({ signal }) => {
      workers.delete(worker);
      if (signal === 'SIGKILL') crashes += 1;
      if (supervising) void supervise();
    });
  };

  beforeAll(async () => {
    cluster = await ChaosCluster.start({ JOB_LOCK_MS: '2000', MAX_STALLED_COUNT: String(MAX_STALLED_COUNT), CACHE_TTL_SECONDS: '0' });
    ({ baseUrl } = await cluster.startApi());
    await supervise();
    await supervise();
  });
  afterAll(async () => {
    supervising = false;
    await cluster?.stop();
  });

  it(`ends failed after ${MAX_STALLED_COUNT + 1} crashes, with its reason visible through the API`, async () => {
    const poison = await request(baseUrl, 'POST', '/api/v1/jobs', { body: { prompt: `Once upon a time ${MARKER}`, max_tokens: 16, cache: false } });
    expect(poison.status).toBe(202);

    let view: any;
    const deadline = Date.now() + 120_000;
    do {
      await sleep(250);
      view = (await request(baseUrl, 'GET', `/api/v1/jobs/${poison.body.id}`)).body;
    } while ((view.status === 'waiting' || view.status === 'active') && Date.now() < deadline);
    const stalled = Number(await cluster.redis.hget(`${cluster.queueKey}:${poison.body.id}`, 'stc'));

    // The workers (restarted by their supervisor) still serve everything else.
    while (workers.size < 2 || [...workers].some((w) => !w.lines.some((line) => line.includes('worker ready')))) await sleep(100);
    const healthy = await request(baseUrl, 'POST', '/api/v1/generate', { body: { prompt: 'Once upon a time', max_tokens: 16, cache: false, timeout_ms: 60_000 } });

    recordFigures('poison-job', { status: view.status, error: view.error, crashes, stalledCount: stalled, healthyJobAfterwards: healthy.status });

    expect(view.status).toBe('failed');
    expect(view.error.code).toBe('worker_lost');
    expect(view.error.message).toMatch(/stopped responding/);
    expect(crashes).toBe(MAX_STALLED_COUNT + 1);
    expect(stalled).toBe(MAX_STALLED_COUNT + 1);
    expect(healthy.status).toBe(200);
    expect(healthy.body.usage.completion_tokens).toBeGreaterThan(0);
  });
});
