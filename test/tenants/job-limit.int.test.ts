import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantCluster } from './support.ts';

const story = (i: number | string) => ({ prompt: `Once upon a time, story ${i},`, max_tokens: 8, cache: false });
const openAiBody = (i: number) => ({ model: 'stories260K', prompt: `Once upon a time, story ${i},`, max_tokens: 8 });

/**
 * TENANT_MAX_JOBS=3 with two API processes and no worker, so every accepted job stays waiting:
 * whatever process a request reaches, a tenant has at most 3 jobs queued or active.
 */
describe('TENANT_MAX_JOBS across two API processes', () => {
  let cluster: TenantCluster;
  const accepted: string[] = [];

  beforeAll(async () => {
    cluster = await TenantCluster.start({
      tenants: [{ name: 'team-a' }, { name: 'team-b' }, { name: 'ops', role: 'admin' }],
      env: { TENANT_MAX_JOBS: '3' },
      worker: false,
    });
  }, 180_000);
  afterAll(async () => {
    await cluster?.close();
  }, 60_000);

  it('accepts exactly 3 of 8 jobs sent at once, alternating between the APIs, and answers the rest 429 too_many_jobs', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, async (_, i) => await cluster.as('team-a', i, 'POST', '/api/v1/jobs', story(i))));
    const statuses = answers.map((answer) => answer.status);
    console.info(`8 submissions at once over two APIs: ${statuses.join(', ')}`);
    expect(statuses.filter((status) => status === 202)).toHaveLength(3);
    expect(statuses.filter((status) => status === 429)).toHaveLength(5);
    for (const answer of answers) {
      if (answer.status === 202) accepted.push(answer.body.id as string);
      else {
        expect(answer.body.error.code).toBe('too_many_jobs');
        expect(answer.body.error.message).toContain('team-a has 3 jobs queued or active, its limit is 3');
      }
    }
    // Counted in Redis, where every API process sees the same set.
    expect(await cluster.redis.zcard(`${cluster.prefix}:tenant-jobs:team-a`)).toBe(3);
    const usage = await cluster.as('team-a', 1, 'GET', '/api/v1/usage');
    expect(usage.body).toMatchObject({ tenant: 'team-a', live_jobs: 3, limits: { max_jobs: 3, tokens_per_day: 0 } });
    expect(usage.body.total.requests).toBe(3);
  });

  it('refuses on the other routes of both APIs too: /generate natively, /v1 in OpenAI error shape, streaming or not', async () => {
    for (const api of [0, 1]) {
      const generate = await cluster.as('team-a', api, 'POST', '/api/v1/generate', story('g'));
      expect(generate.status).toBe(429);
      expect(generate.body).toEqual({ error: { code: 'too_many_jobs', message: expect.stringContaining('its limit is 3') } });

      for (const [route, body] of [
        ['/v1/completions', openAiBody(api)],
        ['/v1/chat/completions', { model: 'stories260K', messages: [{ role: 'user', content: 'Hello' }], stream: true }],
      ] as const) {
        const refused = await cluster.as('team-a', api, 'POST', route, body);
        expect(refused.status, route).toBe(429);
        expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
        expect(refused.body, route).toEqual({
          error: { message: expect.stringContaining('its limit is 3'), type: 'rate_limit_error', param: null, code: 'too_many_jobs' },
        });
      }

      const client = new OpenAI({ baseURL: `${cluster.api(api)}/v1`, apiKey: cluster.keys['team-a']!, maxRetries: 0 });
      const error = await client.completions.create(openAiBody(api)).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect((error as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('too_many_jobs');
    }
    expect(await cluster.redis.zcard(`${cluster.prefix}:tenant-jobs:team-a`)).toBe(3);
  });

  it('leaves another tenant its own 3, and counts a request that joins a job in flight as no job', async () => {
    const shared = { prompt: 'Once upon a time, a shared story,', max_tokens: 8, temperature: 0 };
    const [first, joiner] = [await cluster.as('team-b', 0, 'POST', '/api/v1/jobs', shared), await cluster.as('team-b', 1, 'POST', '/api/v1/jobs', shared)];
    expect([first.status, joiner.status]).toEqual([202, 202]);
    expect(joiner.body.id).toBe(first.body.id);
    expect((await cluster.as('team-b', 0, 'GET', '/api/v1/usage')).body).toMatchObject({ live_jobs: 1, total: { requests: 2 } });

    const more = [await cluster.as('team-b', 1, 'POST', '/api/v1/jobs', story('b1')), await cluster.as('team-b', 0, 'POST', '/api/v1/jobs', story('b2'))];
    expect(more.map((answer) => answer.status)).toEqual([202, 202]);
    const over = await cluster.as('team-b', 1, 'POST', '/api/v1/jobs', story('b3'));
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe('too_many_jobs');
  });

  it('accepts one more once a job is cancelled, through the other API, and then refuses again', async () => {
    const cancelled = await cluster.as('team-a', 1, 'DELETE', `/api/v1/jobs/${accepted[0]}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    const next = await cluster.as('team-a', 0, 'POST', '/api/v1/jobs', story('after the cancel'));
    expect(next.status).toBe(202);
    const over = await cluster.as('team-a', 1, 'POST', '/api/v1/jobs', story('one too many'));
    expect(over.status).toBe(429);
    const usage = (await cluster.as('team-a', 0, 'GET', '/api/v1/usage')).body;
    expect(usage).toMatchObject({ live_jobs: 3, total: { requests: 4, cancelled: 1, completed: 0, failed: 0 } });
  });

  it('shows no key in any log line of the processes', () => {
    const lines = cluster.logLines();
    expect(lines.length).toBeGreaterThan(0);
    for (const key of Object.values(cluster.keys)) expect(lines.filter((line) => line.includes(key))).toEqual([]);
  });
});
