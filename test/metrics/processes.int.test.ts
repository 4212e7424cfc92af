import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../core/local-redis.ts';
import { METRICS } from '../../core/metrics/names.ts';
import { startRole, stopRole, type RoleProcess } from '../support/processes.ts';
import { deletePrefix, http, pollUntilDone, redisUrl, TEST_MODELS_DIR, TINY_MODEL } from '../support/stack.ts';
import { Redis } from 'ioredis';
import { Scrape } from './exposition.ts';

/** The port a worker logged in its `worker metrics listening` line. */
function loggedPort(worker: RoleProcess): number {
  const line = worker.lines.find((l) => l.includes('worker metrics listening'));
  const port = line ? (JSON.parse(line) as { port?: number }).port : undefined;
  if (!port) throw new Error(`worker did not log its metrics port:\n${worker.lines.slice(-10).join('\n')}`);
  return port;
}

/** api, two workers and the dashboard as separate processes, each scraped on its own, as Prometheus does. */
describe('/metrics of separate processes', () => {
  const prefix = `t-metrics-${process.pid}`;
  let api: RoleProcess;
  let workers: RoleProcess[] = [];
  let dashboard: RoleProcess;
  let apiUrl = '';
  let dashboardUrl = '';

  beforeAll(async () => {
    const env = { REDIS_URL: redisUrl(), REDIS_PREFIX: prefix, MODEL: TINY_MODEL, MODELS_DIR: TEST_MODELS_DIR, LLAMA_THREADS: '1', POOL_THREADS: '1', CONTEXT_SIZE: '512' };
    const [apiPort, dashboardPort] = [await freePort(), await freePort()];
    apiUrl = `http://127.0.0.1:${apiPort}`;
    dashboardUrl = `http://127.0.0.1:${dashboardPort}`;
    [api, dashboard, ...workers] = await Promise.all([
      startRole('api', { ...env, PORT: String(apiPort) }),
      startRole('dashboard', { ...env, DASHBOARD_PORT: String(dashboardPort), DASHBOARD_PASSWORD: 'metrics-test-password' }),
      startRole('worker', { ...env, WORKER_METRICS_PORT: '0' }),
      startRole('worker', { ...env, WORKER_METRICS_PORT: '0' }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([api, dashboard, ...workers].filter(Boolean).map((p) => stopRole(p)));
    const redis = new Redis(redisUrl());
    await deletePrefix(redis, prefix);
    await redis.quit();
  });

  it('each role exports its own series, and the workers together count every generated token', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await http(apiUrl, 'POST', '/api/v1/jobs', { prompt: `Once upon a time ${i}`, max_tokens: 16, cache: false });
      expect(res.status).toBe(202);
      ids.push(res.body.id);
    }
    await Promise.all(ids.map((id) => pollUntilDone(apiUrl, id, 60_000)));
    const jobs = await Promise.all(ids.map(async (id) => (await http(apiUrl, 'GET', `/api/v1/jobs/${id}`)).body));
    expect(jobs.map((j) => j.status)).toEqual(ids.map(() => 'completed'));

    const apiScrape = await Scrape.of(`${apiUrl}/metrics`);
    const workerScrapes = await Promise.all(workers.map((w) => Scrape.of(`http://127.0.0.1:${loggedPort(w)}/metrics`)));
    const dashboardScrape = await Scrape.of(`${dashboardUrl}/metrics`);

    // Fresh processes: absolute values, no baseline.
    const tokens = jobs.reduce((sum, j) => sum + j.result.usage.completion_tokens, 0);
    const perWorker = workerScrapes.map((s) => s.value(METRICS.generationTokens.name));
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(tokens);
    expect(workerScrapes.reduce((sum, s) => sum + s.value(`${METRICS.e2eLatency.name}_count`), 0)).toBe(6);
    expect(workerScrapes.reduce((sum, s) => sum + s.value(METRICS.jobsCompleted.name), 0)).toBe(6);
    expect(apiScrape.value(METRICS.jobsSubmitted.name)).toBe(6);

    for (const scrape of [apiScrape, ...workerScrapes, dashboardScrape]) expect(scrape.has('process_cpu_seconds_total')).toBe(true);
    // Roles export what they know, and nothing they do not.
    const exported = (role: 'api' | 'worker' | 'dashboard', scrape: Scrape) => {
      for (const def of Object.values(METRICS)) {
        // Series with labels appear once they have a value; gauges read at scrape time always do.
        if (!(def.exportedBy as readonly string[]).includes(role)) {
          expect(scrape.has(def.name) || scrape.has(`${def.name}_count`), `${role} exports ${def.name}`).toBe(false);
        }
      }
    };
    exported('api', apiScrape);
    workerScrapes.forEach((s) => exported('worker', s));
    exported('dashboard', dashboardScrape);
    expect(apiScrape.value(METRICS.queueJobs.name, { queue: 'generate', state: 'completed' })).toBe(6);
    expect(dashboardScrape.value(METRICS.queueJobs.name, { queue: 'generate', state: 'completed' })).toBe(6);

    // Two workers, the same series: Prometheus's `instance` label is what tells them apart.
    const seriesKeys = (s: Scrape) => new Set(s.matching(METRICS.modelInfo.name).map((x) => JSON.stringify(x.labels)));
    expect(seriesKeys(workerScrapes[0]!)).toEqual(seriesKeys(workerScrapes[1]!));
  });

  it('the dashboard keeps the board behind its password but serves /metrics and /health openly', async () => {
    expect((await fetch(`${dashboardUrl}/admin/queues`)).status).toBe(401);
    const authorized = await fetch(`${dashboardUrl}/admin/queues`, {
      headers: { authorization: `Basic ${Buffer.from('admin:metrics-test-password').toString('base64')}` },
    });
    expect(authorized.status).toBe(200);
    expect((await fetch(`${dashboardUrl}/health`)).status).toBe(200);
    expect((await fetch(`${dashboardUrl}/metrics`)).status).toBe(200);
  });
});
