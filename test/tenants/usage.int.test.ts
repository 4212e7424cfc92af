import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageReportSchema } from '../../api/openapi/native-schemas.ts';
import { USAGE_FIELDS } from '../../core/tenants/usage.ts';
import { parseExposition } from '../metrics/exposition.ts';
import { eventually, sumOf, TenantCluster } from './support.ts';

const today = () => new Date().toISOString().slice(0, 10);

/**
 * A mix of jobs for one tenant through two API processes and a worker process: completed ones
 * (native and OpenAI), one that fails in the worker (a prompt longer than the context, with the
 * API's token check off), one cancelled, cache hits. The tenant's usage must be the sums over the
 * jobs' own results, field by field, and the per-tenant counters must agree with it.
 */
describe('GET /api/v1/usage after a mix of jobs', () => {
  let cluster: TenantCluster;
  const day = today();
  /** Jobs the tenant made, by id, and every answered request. */
  const jobs = new Set<string>();
  let requests = 0;
  let cacheHits = 0;
  let report: any;

  beforeAll(async () => {
    cluster = await TenantCluster.start({
      tenants: [{ name: 'team-a' }, { name: 'team-b' }, { name: 'ops', role: 'admin' }],
      env: { CHECK_PROMPT_TOKENS: 'false' },
      worker: true,
    });
  }, 180_000);
  afterAll(async () => {
    await cluster?.close();
  }, 60_000);

  const submit = async (api: number, route: string, body: unknown) => {
    const answer = await cluster.as('team-a', api, 'POST', route, body);
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
    requests += 1;
    return answer;
  };

  it('runs the mix: completed, failed, cancelled, cache hits, native and OpenAI', async () => {
    // Completed, and cached for the two identical requests after it (one per API).
    const deterministic = { prompt: 'Once upon a time, a deterministic story,', max_tokens: 10, temperature: 0 };
    jobs.add((await submit(0, '/api/v1/generate', deterministic)).body.id);
    for (const api of [0, 1]) {
      const hit = await submit(api, '/api/v1/generate', deterministic);
      expect(hit.body.cached).toBe(true);
      cacheHits += 1;
    }
    // Blockers at the most urgent priority keep the worker busy, so the last job is still waiting when it is cancelled.
    for (let i = 0; i < 6; i++) jobs.add((await submit(i, '/api/v1/jobs', { prompt: `Blocker ${i}:`, max_tokens: 480, priority: 1, cache: false })).body.id);
    const victim = (await submit(1, '/api/v1/jobs', { prompt: 'Cancel me', max_tokens: 16, priority: 10, cache: false })).body.id;
    jobs.add(victim);
    const cancelled = await cluster.as('team-a', 0, 'DELETE', `/api/v1/jobs/${victim}`);
    expect(cancelled.body.status).toBe('cancelled');
    // Fails in the worker: longer than the 512-token context, and the API does not count tokens here.
    const failing = await submit(1, '/api/v1/jobs', { prompt: 'The cat sat on the mat. '.repeat(200), max_tokens: 8, cache: false });
    jobs.add(failing.body.id);
    // OpenAI: the job behind the answer is named in x-job-id.
    const completion = await submit(0, '/v1/completions', { model: 'stories260K', prompt: 'Once upon a time', max_tokens: 9 });
    jobs.add(completion.headers.get('x-job-id') ?? '');
    for (let i = 0; i < 3; i++) jobs.add((await submit(i, '/api/v1/jobs', { prompt: `Story ${i}:`, max_tokens: 7 + i, cache: false })).body.id);

    const views = await Promise.all(
      [...jobs].map(async (id) => await eventually(async () => (await cluster.as('team-a', 0, 'GET', `/api/v1/jobs/${id}`)).body, (view) => !['waiting', 'active'].includes(view.status), 60_000)),
    );
    const count = (status: string) => views.filter((view) => view.status === status).length;
    expect(count('failed')).toBe(1);
    expect(views.find((view) => view.status === 'failed')?.error.code).toBe('prompt_too_long');
    expect(count('cancelled')).toBe(1);
    expect(count('completed')).toBe(jobs.size - 2);

    const expected = {
      requests,
      completed: count('completed'),
      failed: count('failed'),
      cancelled: count('cancelled'),
      prompt_tokens: views.reduce((sum, view) => sum + (view.result?.usage.prompt_tokens ?? 0), 0),
      completion_tokens: views.reduce((sum, view) => sum + (view.result?.usage.completion_tokens ?? 0), 0),
      cache_hits: cacheHits,
    };
    // Ends are recorded just after the jobs finish: wait until all of them are, then compare exactly.
    report = await eventually(
      async () => (await cluster.as('team-a', 1, 'GET', `/api/v1/usage?from=${day}&to=${today()}`)).body,
      // Cached answers are counted in memory and written a moment later.
      (body) => body.total.completed + body.total.failed + body.total.cancelled === jobs.size && body.total.cache_hits === cacheHits,
    );
    console.info(`team-a usage: ${JSON.stringify(report.total)}`);
    expect(report.total).toEqual(expected);
    expect(Object.keys(report.total)).toEqual([...USAGE_FIELDS]);
    expect(report.live_jobs).toBe(0);
    expect(report.days.at(-1)).toEqual({ date: today(), ...expected });
    expect(usageReportSchema.safeParse(report).success).toBe(true);
  }, 120_000);

  it("lets an admin read a tenant's usage with tenant=, and no other tenant", async () => {
    const query = `/api/v1/usage?from=${day}&to=${today()}&tenant=team-a`;
    for (const api of [0, 1]) {
      expect((await cluster.as('ops', api, 'GET', query)).body).toEqual(report);
      expect((await cluster.as('team-a', api, 'GET', query)).body).toEqual(report);
      const refused = await cluster.as('team-b', api, 'GET', query);
      expect(refused.status).toBe(404);
      expect(refused.body.error.code).toBe('not_found');
    }
    const own = (await cluster.as('team-b', 0, 'GET', '/api/v1/usage')).body;
    expect(own.tenant).toBe('team-b');
    expect(own.total.requests).toBe(0);
  });

  it("shows the same numbers in the per-tenant counters: the worker's, plus the API's for the waiting job it cancelled", async () => {
    const jobsTotal = await cluster.scrape('llmo_tenant_jobs_total');
    const tokens = await cluster.scrape('llmo_tenant_tokens_total');
    for (const outcome of ['completed', 'failed', 'cancelled'] as const) {
      expect(sumOf(jobsTotal, { tenant: 'team-a', outcome }), outcome).toBe(report.total[outcome]);
    }
    expect(sumOf(tokens, { tenant: 'team-a', kind: 'prompt' })).toBe(report.total.prompt_tokens);
    expect(sumOf(tokens, { tenant: 'team-a', kind: 'completion' })).toBe(report.total.completion_tokens);

    // The worker ran every job that ran: what completed and failed, and all the tokens, are its own.
    const worker = parseExposition(await fetch(cluster.workerMetricsUrl).then(async (response) => await response.text()));
    const ofWorker = (name: string, labels: Record<string, string>) => sumOf(worker.filter((sample) => sample.name === name), labels);
    expect(ofWorker('llmo_tenant_jobs_total', { tenant: 'team-a', outcome: 'completed' })).toBe(report.total.completed);
    expect(ofWorker('llmo_tenant_jobs_total', { tenant: 'team-a', outcome: 'failed' })).toBe(report.total.failed);
    expect(ofWorker('llmo_tenant_tokens_total', { tenant: 'team-a', kind: 'completion' })).toBe(report.total.completion_tokens);
  });

  it('puts no key in a log line or a metric', async () => {
    const texts = [...cluster.logLines(), ...(await Promise.all([...cluster.apis.map((api) => `${api}/metrics`), cluster.workerMetricsUrl].map(async (url) => await (await fetch(url)).text())))];
    for (const key of Object.values(cluster.keys)) expect(texts.filter((text) => text.includes(key))).toEqual([]);
  });
});
