import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantJobPrune } from '../../api/tenant-job-prune.ts';
import { createLogger } from '../../core/logger.ts';
import { redisKeys } from '../../core/keys.ts';
import { TenantLedger } from '../../core/tenants/ledger.ts';
import { utcDay } from '../../core/tenants/usage-day.ts';
import { deletePrefix, http, pollUntilDone, redisUrl, startStack, type TestStack } from '../support/stack.ts';
import { eventually } from './support.ts';

const NO_LIMITS = { maxJobs: 0, tokensPerDay: 0 };

describe('the tenant ledger in Redis', () => {
  const prefix = `t-ledger-${randomUUID().slice(0, 8)}`;
  const keys = redisKeys(prefix);
  const connections = [new Redis(redisUrl()), new Redis(redisUrl())];
  const [one, two] = connections.map((redis) => new TenantLedger(redis, keys, 400)) as [TenantLedger, TenantLedger];

  afterAll(async () => {
    await deletePrefix(connections[0]!, prefix);
    await Promise.all(connections.map(async (redis) => await redis.quit()));
  });

  it('grants exactly the limit of slots to 40 admissions racing on two connections', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => await (i % 2 ? one : two).admit('race', randomUUID(), { maxJobs: 5, tokensPerDay: 0 })),
    );
    expect(results.filter((result) => result.admitted)).toHaveLength(5);
    expect(results.filter((result) => !result.admitted && result.reason === 'too_many_jobs')).toHaveLength(35);
    expect(await one.liveJobs('race')).toBe(5);
  });

  it("records a job's end once, however many processes report it, and frees its slot", async () => {
    const id = randomUUID();
    await one.admit('once', id, NO_LIMITS);
    const tokens = { prompt_tokens: 11, completion_tokens: 22 };
    const reports = await Promise.all([one.finish('once', id, 'completed', tokens, Date.now()), two.finish('once', id, 'completed', tokens, Date.now())]);
    expect(reports.sort()).toEqual([false, true]);
    const [usage] = await one.usage('once', [utcDay(Date.now())]);
    expect(usage).toMatchObject({ completed: 1, prompt_tokens: 11, completion_tokens: 22 });
    expect(await one.liveJobs('once')).toBe(0);
    // The index of tenants with live jobs forgets a tenant with its last job.
    expect(await one.tenantsWithJobs()).not.toContain('once');
  });

  it('refuses a tenant whose recorded tokens reached its budget, and admits it below', async () => {
    const id = randomUUID();
    await one.admit('budget', id, NO_LIMITS);
    await one.finish('budget', id, 'completed', { prompt_tokens: 40, completion_tokens: 59 }, Date.now());
    expect(await one.admit('budget', randomUUID(), { maxJobs: 0, tokensPerDay: 100 })).toMatchObject({ admitted: true });
    expect(await one.admit('budget', randomUUID(), { maxJobs: 0, tokensPerDay: 99 })).toEqual({ admitted: false, reason: 'budget_exceeded', tokensUsed: 99 });
  });

  it('gives every usage record an end: USAGE_RETENTION_DAYS after its day', async () => {
    const day = utcDay(Date.now());
    const ttl = await connections[0]!.ttl(keys.usage('once', day));
    const expected = (Date.parse(`${day}T00:00:00Z`) + 401 * 86_400_000 - Date.now()) / 1000;
    expect(Math.abs(ttl - expected)).toBeLessThanOrEqual(5);
  });

  it('measures what its keys cost in Redis (MEMORY USAGE)', async () => {
    const redis = connections[0]!;
    const id = randomUUID();
    await one.admit('bytes', id, NO_LIMITS);
    const oneJob = await redis.memory('USAGE', keys.tenantJobs('bytes'));
    for (let i = 0; i < 99; i++) await one.admit('bytes', randomUUID(), NO_LIMITS);
    const hundred = await redis.memory('USAGE', keys.tenantJobs('bytes'));
    for (let i = 0; i < 900; i++) await one.admit('bytes', randomUUID(), NO_LIMITS);
    const thousand = await redis.memory('USAGE', keys.tenantJobs('bytes'));
    const day = '2025-01-01';
    await redis.hset(keys.usage('bytes', day), { requests: 123_456, completed: 120_000, failed: 12, cancelled: 345, prompt_tokens: 98_765_432, completion_tokens: 87_654_321, cache_hits: 3456 });
    const usage = await redis.memory('USAGE', keys.usage('bytes', day));
    const index = await redis.memory('USAGE', keys.tenantsWithJobs);
    const tenantsListed = await redis.scard(keys.tenantsWithJobs);
    console.info(
      `tenant-jobs: ${oneJob} B with 1 job, ${hundred} B with 100, ${thousand} B with 1,000 (${Math.round((Number(thousand) - Number(oneJob)) / 999)} B per job); ` +
        `usage day record, 7 fields: ${usage} B; tenants-with-jobs with ${tenantsListed} tenants: ${index} B`,
    );
    expect(Number(oneJob)).toBeGreaterThan(0);
  });
});

describe("the API's prune of tenants' live jobs", () => {
  let stack: TestStack;
  let ledger: TenantLedger;
  let prune: TenantJobPrune;

  beforeAll(async () => {
    stack = await startStack({ env: { CHECK_PROMPT_TOKENS: 'false' } });
    const { deps } = stack.api;
    ledger = new TenantLedger(deps.redis, deps.keys, 400);
    prune = new TenantJobPrune({ redis: deps.redis, keys: deps.keys, queues: [deps.queue], ledger, logger: createLogger('test', 'silent') }, { graceMs: 0 });
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
  });

  const usageToday = async () => (await http(stack.baseUrl, 'GET', '/api/v1/usage')).body;

  it("records the ends a dead worker never recorded, and frees the slots of jobs that are gone", async () => {
    const done = await http(stack.baseUrl, 'POST', '/api/v1/generate', { prompt: 'Once upon a time', max_tokens: 6, cache: false });
    const failed = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'The cat sat on the mat. '.repeat(200), max_tokens: 6, cache: false });
    expect((await pollUntilDone(stack.baseUrl, failed.body.id)).status).toBe('failed');
    const before = await eventually(usageToday, (body) => body.total.failed === 1);
    expect(before.total).toMatchObject({ completed: 1, failed: 1, prompt_tokens: done.body.usage.prompt_tokens });

    // As if the worker had died between each job's end and its record: the ids are back, the counts gone.
    const { redis, keys } = stack.api.deps;
    await redis.del(keys.usage('anonymous', utcDay(Date.now())));
    const ghost = randomUUID();
    const old = Date.now() - 120_000;
    await redis.zadd(keys.tenantJobs('anonymous'), old, done.body.id, old, failed.body.id, old, ghost);
    await redis.sadd(keys.tenantsWithJobs, 'anonymous');
    // A job still waiting stays counted.
    const waiting = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Wait', max_tokens: 6, cache: false, priority: 10 });
    await stack.worker?.close(0);
    expect(await ledger.liveJobs('anonymous')).toBeGreaterThanOrEqual(3);

    const report = await prune.runOnce();
    expect(report).toMatchObject({ recorded: 2, forgotten: 1 });
    const after = await usageToday();
    expect(after.total).toMatchObject({
      completed: 1,
      failed: 1,
      prompt_tokens: done.body.usage.prompt_tokens,
      completion_tokens: done.body.usage.completion_tokens,
    });
    const live = await redis.zrange(keys.tenantJobs('anonymous'), 0, -1);
    expect(live).not.toContain(ghost);
    expect(live).not.toContain(done.body.id);
    // The waiting job may have been taken before the worker closed; if it finished, the prune recorded it too.
    if ((await http(stack.baseUrl, 'GET', `/api/v1/jobs/${waiting.body.id}`)).body.status === 'waiting') expect(live).toEqual([waiting.body.id]);

    // A second round finds nothing more to do.
    expect(await prune.runOnce()).toMatchObject({ recorded: 0, forgotten: 0 });
  }, 60_000);
});
