import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, TenantCluster } from './support.ts';

/** team-a's own budget from the keys file; TENANT_TOKENS_PER_DAY stays 0, so team-b has none. */
const BUDGET = 60;
const DAY_MS = 86_400_000;
const secondsToMidnight = (ms: number) => Math.ceil(((Math.floor(ms / DAY_MS) + 1) * DAY_MS - ms) / 1000);

describe('TENANT_TOKENS_PER_DAY across two API processes', () => {
  let cluster: TenantCluster;

  beforeAll(async () => {
    cluster = await TenantCluster.start({
      tenants: [{ name: 'team-a', limits: { tokens_per_day: BUDGET } }, { name: 'team-b' }],
      worker: true,
    });
  }, 180_000);
  afterAll(async () => {
    await cluster?.close();
  }, 60_000);

  it('runs jobs until the recorded tokens reach the budget, then answers 429 budget_exceeded until midnight UTC on both APIs', async () => {
    const results: { prompt_tokens: number; completion_tokens: number }[] = [];
    let recorded = 0;
    for (let i = 0; recorded < BUDGET; i++) {
      // Alternate the APIs: the budget is the tenant's, whichever process accepted its jobs.
      const done = await cluster.as('team-a', i, 'POST', '/api/v1/generate', { prompt: `Once upon a time, story ${i},`, max_tokens: 12, cache: false });
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      results.push(done.body.usage);
      const expected = results.reduce((sum, usage) => sum + usage.prompt_tokens + usage.completion_tokens, 0);
      // The worker records a job's tokens just after it completes.
      const usage = await eventually(
        async () => (await cluster.as('team-a', i + 1, 'GET', '/api/v1/usage')).body,
        (body) => body.total.prompt_tokens + body.total.completion_tokens === expected,
      );
      recorded = usage.total.prompt_tokens + usage.total.completion_tokens;
    }
    console.info(`team-a: ${results.length} jobs used ${recorded} tokens of a budget of ${BUDGET}`);

    for (const api of [0, 1]) {
      for (const [route, body, shape] of [
        ['/api/v1/jobs', { prompt: 'One more story', max_tokens: 4 }, 'native'],
        ['/api/v1/generate', { prompt: 'One more story', max_tokens: 4 }, 'native'],
        ['/v1/completions', { model: 'stories260K', prompt: 'One more story', max_tokens: 4 }, 'openai'],
        ['/v1/chat/completions', { model: 'stories260K', messages: [{ role: 'user', content: 'One more' }], stream: true }, 'openai'],
      ] as const) {
        const before = Date.now();
        const refused = await cluster.as('team-a', api, 'POST', route, body);
        const after = Date.now();
        expect(refused.status, `${route} on API ${api}`).toBe(429);
        const error = refused.body.error;
        expect(error.code).toBe('budget_exceeded');
        expect(error.message).toBe(`tenant team-a has used ${recorded} tokens today (UTC), its budget is ${BUDGET} per day; it renews at midnight UTC`);
        if (shape === 'openai') expect(error).toMatchObject({ type: 'rate_limit_error', param: null });
        // Arithmetic on the clock, not a timing: the wait ends at the next midnight UTC.
        const retryAfter = Number(refused.headers.get('retry-after'));
        expect(retryAfter).toBeGreaterThanOrEqual(secondsToMidnight(after) - 5);
        expect(retryAfter).toBeLessThanOrEqual(secondsToMidnight(before) + 5);
        expect(refused.headers.get('x-should-retry')).toBe('false');
      }
    }
  }, 120_000);

  it('leaves another tenant unaffected', async () => {
    for (const api of [0, 1]) {
      const done = await cluster.as('team-b', api, 'POST', '/api/v1/generate', { prompt: 'Once upon a time', max_tokens: 12, cache: false });
      expect(done.status).toBe(200);
    }
    const usage = (await cluster.as('team-b', 0, 'GET', '/api/v1/usage')).body;
    expect(usage.limits).toEqual({ max_jobs: 1000, tokens_per_day: 0 });
  });
});
