import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoleProcess } from '../support/processes.ts';
import { ChaosCluster, recordFigures, request, sleep } from './support/cluster.ts';

const BEFORE = 60;
const AFTER = 20;
const DOWN_PROBES = 30;

describe('Redis restarted (SIGTERM, AOF) while jobs are queued and running', () => {
  let cluster: ChaosCluster;
  let api: { proc: RoleProcess; baseUrl: string };
  let workers: RoleProcess[];

  beforeAll(async () => {
    cluster = await ChaosCluster.start({ CACHE_TTL_SECONDS: '0' });
    api = await cluster.startApi();
    workers = await Promise.all([cluster.startWorker(), cluster.startWorker()]);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('loses no accepted job, answers 503 fast while Redis is away, and reconnects by itself', async () => {
    const { baseUrl } = api;
    const submit = (i: number) => request(baseUrl, 'POST', '/api/v1/jobs', { body: { prompt: `Once upon a time, tale ${i}`, max_tokens: 96, cache: false } });

    const accepted: string[] = [];
    for (let i = 0; i < BEFORE; i += 1) {
      const response = await submit(i);
      expect(response.status).toBe(202);
      accepted.push(response.body.id);
    }
    // Stop Redis while some jobs are done, some running and most still waiting.
    while ((await cluster.redis.zcard(`${cluster.queueKey}:completed`)) < 5) await sleep(20);
    const activeAtStop = await cluster.redis.llen(`${cluster.queueKey}:active`);
    const completedAtStop = await cluster.redis.zcard(`${cluster.queueKey}:completed`);
    await cluster.server.kill('SIGTERM');
    const stoppedAt = Date.now();

    // While Redis is away: every request that needs it gets a 503 with Retry-After, quickly.
    const probes: Array<{ route: string; status: number; ms: number; code?: string; retryAfter: string | null }> = [];
    const someId = accepted.at(-1)!;
    const routes = [
      () => ['POST /api/v1/jobs', submit(1000)] as const,
      () => ['GET /api/v1/jobs/:id', request(baseUrl, 'GET', `/api/v1/jobs/${someId}`)] as const,
      () => ['POST /api/v1/generate', request(baseUrl, 'POST', '/api/v1/generate', { body: { prompt: 'Once', max_tokens: 4, cache: false, timeout_ms: 5000 } })] as const,
      () => ['DELETE /api/v1/jobs/:id', request(baseUrl, 'DELETE', `/api/v1/jobs/${someId}`)] as const,
      () => ['GET /api/ready', request(baseUrl, 'GET', '/api/ready')] as const,
    ];
    for (let i = 0; i < DOWN_PROBES; i += 1) {
      const [route, pending] = routes[i % routes.length]!();
      const response = await pending;
      probes.push({ route, status: response.status, ms: response.ms, code: response.body?.error?.code, retryAfter: response.headers.get('retry-after') });
      await sleep(50);
    }
    const health = await request(baseUrl, 'GET', '/api/health');
    await sleep(1000);

    await cluster.server.spawn();
    const restartedAt = Date.now();
    // The API reconnects by itself: the first submission it accepts again ends the outage.
    let reconnectMs = -1;
    for (let i = 0; i < AFTER; ) {
      const response = await submit(2000 + i);
      if (response.status === 202) {
        if (reconnectMs < 0) reconnectMs = Date.now() - restartedAt;
        accepted.push(response.body.id);
        i += 1;
      } else {
        expect(response.status).toBe(503);
        await sleep(100);
      }
    }

    const deadline = Date.now() + 120_000;
    const finished = async () => (await cluster.redis.zcard(`${cluster.queueKey}:completed`)) + (await cluster.redis.zcard(`${cluster.queueKey}:failed`));
    while ((await finished()) < accepted.length && Date.now() < deadline) await sleep(250);
    const views = await Promise.all(accepted.map(async (id) => (await request(baseUrl, 'GET', `/api/v1/jobs/${id}`)).body));
    const completed = views.filter((view) => view.status === 'completed');

    const slowest = Math.max(...probes.map((p) => p.ms));
    recordFigures('redis-restart', {
      accepted: accepted.length,
      completed: completed.length,
      lost: accepted.length - completed.length,
      activeWhenRedisStopped: activeAtStop,
      completedWhenRedisStopped: completedAtStop,
      requestsWhileDown: probes.length,
      answered503: probes.filter((p) => p.status === 503).length,
      slowest503Ms: Math.round(slowest),
      medianMs: Math.round([...probes.map((p) => p.ms)].sort((a, b) => a - b)[Math.floor(probes.length / 2)]!),
      redisDownMs: restartedAt - stoppedAt,
      apiAcceptingAgainAfterMs: reconnectMs,
    });

    for (const probe of probes) {
      expect(probe, probe.route).toMatchObject({ status: 503 });
      expect(probe.ms, probe.route).toBeLessThan(1000);
      if (probe.route !== 'GET /api/ready') {
        expect(probe.code).toBe('redis_unavailable');
        expect(Number(probe.retryAfter)).toBeGreaterThan(0);
      }
    }
    expect(health.status).toBe(200);
    expect(completed.length).toBe(accepted.length);
    // The same processes served before and after: they reconnected by themselves.
    for (const proc of [api.proc, ...workers]) expect(proc.child.exitCode).toBeNull();
    const workerIds = new Set(await Promise.all(accepted.slice(-AFTER).map((id) => cluster.redis.hget(`${cluster.queueKey}:${id}`, 'pb'))));
    expect([...workerIds].every((name) => workers.some((w) => name?.includes(`:${w.child.pid}:`)))).toBe(true);
  });
});
