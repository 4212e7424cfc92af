import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageReportSchema } from '../../api/openapi/native-schemas.ts';
import { http, startStack, type TestStack } from '../support/stack.ts';

const today = () => new Date().toISOString().slice(0, 10);

describe('GET /api/v1/usage', () => {
  let stack: TestStack;
  const get = async (query: string) => await http(stack.baseUrl, 'GET', `/api/v1/usage${query}`);

  beforeAll(async () => {
    stack = await startStack({ worker: false, env: { TENANT_MAX_JOBS: '7', TENANT_TOKENS_PER_DAY: '5000' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("answers today's usage of the caller's tenant by default, in the documented shape", async () => {
    const { status, body } = await get('');
    expect(status).toBe(200);
    expect(body).toEqual({
      tenant: 'anonymous',
      from: today(),
      to: today(),
      limits: { max_jobs: 7, tokens_per_day: 5000 },
      live_jobs: 0,
      total: { requests: 0, completed: 0, failed: 0, cancelled: 0, prompt_tokens: 0, completion_tokens: 0, cache_hits: 0 },
      days: [{ date: today(), requests: 0, completed: 0, failed: 0, cancelled: 0, prompt_tokens: 0, completion_tokens: 0, cache_hits: 0 }],
    });
    expect(usageReportSchema.safeParse(body).success).toBe(true);
  });

  it('lists every day of the range, leap day included, and at most 366 of them', async () => {
    const leap = await get('?from=2024-02-28&to=2024-03-01');
    expect(leap.body.days.map((day: { date: string }) => day.date)).toEqual(['2024-02-28', '2024-02-29', '2024-03-01']);
    const year = await get('?from=2024-01-01&to=2024-12-31');
    expect(year.status).toBe(200);
    expect(year.body.days).toHaveLength(366);
    const over = await get('?from=2024-01-01&to=2025-01-01');
    expect(over.status).toBe(400);
    expect(over.body.error).toEqual({ code: 'invalid_request', message: 'from 2024-01-01 to 2025-01-01 spans 367 days; at most 366 per request' });
  });

  it('answers 400 with a clear message for dates that are not YYYY-MM-DD days, a reversed range and unknown parameters', async () => {
    const cases: [string, string, string][] = [
      ['?from=2025-1-01', 'invalid_request', 'from: must be a UTC date as YYYY-MM-DD'],
      ['?to=2023-02-29', 'invalid_request', 'to: is not a date of the calendar'],
      ['?from=yesterday', 'invalid_request', 'from: must be a UTC date as YYYY-MM-DD'],
      ['?from=2025-03-02&to=2025-03-01', 'invalid_request', 'from (2025-03-02) is after to (2025-03-01)'],
      ['?from=2025-03-01&from=2025-03-02', 'invalid_request', 'from: Invalid input: expected string, received array'],
      ['?since=2025-03-01', 'unknown_field', 'unknown field(s): since'],
      ['?tenant=Team%20A', 'invalid_request', 'tenant: is not a tenant name'],
    ];
    for (const [query, code, message] of cases) {
      const { status, body } = await get(query);
      expect(status, query).toBe(400);
      expect(body.error, query).toEqual({ code, message });
    }
  });

  it("answers 404 for another tenant's usage to a caller that is not an admin, and its own tenant's to it", async () => {
    const other = await get('?tenant=team-b');
    expect(other.status).toBe(404);
    expect(other.body.error).toEqual({ code: 'not_found', message: 'tenant team-b not found' });
    expect((await get('?tenant=anonymous')).status).toBe(200);
  });
});
