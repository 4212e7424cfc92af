import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRedis } from '../../core/local-redis.ts';
import { projectRoot } from '../../core/paths.ts';
import { http, startStack, type TestStack } from '../support/stack.ts';
import { bytesPerKey, countKeyFamilies, type KeyCensus } from './key-families.ts';

/** Jobs submitted in all, and where the census is taken. */
const TOTAL = Number(process.env.SOAK_JOBS || 5000);
const CHECKPOINTS = [TOTAL / 5, TOTAL / 2, TOTAL];
/**
 * Submissions per second, well below what one worker runs (a few hundred one-token jobs per
 * second): at a steady rate, keys that expire hold steady counts, and the census compares like with like.
 */
const RATE = Number(process.env.SOAK_RATE || 80);
/** Lifetimes short enough that every family that expires has turned over many times by the first checkpoint. */
const LIFETIME_SECONDS = 3;

interface Checkpoint {
  jobs: number;
  usedMemory: number;
  census: KeyCensus;
}

/**
 * Every key the system writes for a job goes when the job goes, or expires within its documented
 * lifetime (docs/redis.md). Thousands of small jobs run through the real stack, a few cancelled and
 * a few failing, and Redis memory and the key count of each family must level off.
 */
describe('Redis memory under a steady stream of jobs', () => {
  let redis: LocalRedis;
  let stack: TestStack;

  beforeAll(async () => {
    // A Redis of its own: used_memory counts nothing but this run.
    redis = await LocalRedis.start({ maxMemory: '256mb' });
    stack = await startStack({
      env: {
        REDIS_URL: redis.url,
        KEEP_COMPLETED_COUNT: '200',
        KEEP_COMPLETED_SECONDS: String(LIFETIME_SECONDS),
        KEEP_FAILED_COUNT: '50',
        KEEP_FAILED_SECONDS: String(LIFETIME_SECONDS),
        STREAM_TTL_SECONDS: String(LIFETIME_SECONDS),
        CACHE_TTL_SECONDS: String(LIFETIME_SECONDS),
        QUEUE_EVENTS_MAX_LEN: '1000',
        // Over-long prompts reach the worker, which fails their jobs (prompt_too_long).
        CHECK_PROMPT_TOKENS: 'false',
        SEQUENCES_PER_THREAD: '2',
        RATE_LIMIT_REQUESTS: '0',
      },
    });
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  it(`levels off: memory and every key family at ${TOTAL} jobs within 10 % of their values at ${TOTAL / 2}`, async () => {
    const checkpoints: Checkpoint[] = [];
    const statuses = new Map<number, number>();
    const pending = new Set<Promise<void>>();
    const started = performance.now();
    const longPrompt = 'and then the little dog ran '.repeat(120);

    for (let i = 1; i <= TOTAL; i++) {
      const due = started + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const request = submitOne(i, longPrompt).then((status) => {
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      });
      pending.add(request);
      void request.finally(() => pending.delete(request));
      if (CHECKPOINTS.includes(i)) {
        const info = await stack.redis.info('memory');
        const usedMemory = Number(/used_memory:(\d+)/.exec(info)?.[1]);
        checkpoints.push({ jobs: i, usedMemory, census: await countKeyFamilies(stack.redis, stack.config) });
      }
    }
    const bytes = await bytesPerKey(stack.redis, stack.config);
    await Promise.all(pending);
    const seconds = (performance.now() - started) / 1000;

    const report = {
      jobs: TOTAL,
      ratePerSecond: RATE,
      seconds: Math.round(seconds),
      submissions: Object.fromEntries(statuses),
      checkpoints: checkpoints.map((c) => ({ jobs: c.jobs, usedMemoryBytes: c.usedMemory, keys: c.census })),
      meanBytesPerKey: bytes,
    };
    const dir = path.join(projectRoot, 'test-results', 'soak');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'redis-memory.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`[soak] ${JSON.stringify(report)}`);

    // Every submission was accepted (202) or answered at once (200: its result was cached).
    expect([...statuses.keys()].every((status) => status === 202 || status === 200)).toBe(true);
    const [, middle, last] = checkpoints as [Checkpoint, Checkpoint, Checkpoint];
    expect(Math.abs(last.usedMemory - middle.usedMemory)).toBeLessThanOrEqual(middle.usedMemory * 0.1);
    for (const [family, count] of Object.entries(last.census)) {
      const before = middle.census[family] ?? 0;
      // Ten keys of slack: a family of a handful of keys (the queue's own) may differ by one or two.
      expect(count, `${family}: ${before} at ${middle.jobs} jobs, ${count} at ${last.jobs}`).toBeLessThanOrEqual(before * 1.1 + 10);
      expect(count, `${family}: ${before} at ${middle.jobs} jobs, ${count} at ${last.jobs}`).toBeGreaterThanOrEqual(before * 0.9 - 10);
    }
  }, 600_000);

  /**
   * One job of the mix: most are sampled and uncached; every third is greedy (cached, shared while
   * in flight); one in a hundred is cancelled at once (removed while waiting, or stopped running);
   * one in a hundred fails in the worker (a prompt longer than the context).
   */
  async function submitOne(i: number, longPrompt: string): Promise<number> {
    const prompt = `Once upon a time ${i}`;
    if (i % 100 === 50) {
      return (await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: longPrompt, max_tokens: 4, cache: false })).status;
    }
    if (i % 100 === 0) {
      const created = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt, max_tokens: 64, cache: false });
      await http(stack.baseUrl, 'DELETE', `/api/v1/jobs/${created.body.id}`);
      return created.status;
    }
    const deterministic = i % 3 === 0;
    return (await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt, max_tokens: 2, ...(deterministic ? { temperature: 0 } : { cache: false }) }))
      .status;
  }
});
