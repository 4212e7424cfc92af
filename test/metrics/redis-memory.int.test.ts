import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../../core/metrics/names.ts';
import { trackRedisMemory } from '../../core/metrics/redis-memory.ts';
import { Metrics } from '../../core/metrics/registry.ts';
import { createRedis, waitReady } from '../../core/redis.ts';
import { startRedisServer, type RedisServer } from '../security/redis-server.ts';
import { startStack } from '../support/stack.ts';
import { parseExposition, Scrape } from './exposition.ts';

const MAXMEMORY = 64 * 1024 * 1024;
const USED = METRICS.redisMemoryUsed.name;
const MAX = METRICS.redisMemoryMax.name;

/** The two gauges of one scrape; undefined where the scrape has no series. */
async function gauges(metrics: Metrics): Promise<{ used?: number; max?: number }> {
  const samples = parseExposition(await metrics.render());
  return { used: samples.find((s) => s.name === USED)?.value, max: samples.find((s) => s.name === MAX)?.value };
}

/** INFO commands Redis has run so far (the asking INFO itself is not counted yet when it answers). */
async function infoCalls(admin: Redis): Promise<number> {
  return Number(/^cmdstat_info:calls=(\d+)/m.exec(await admin.info('commandstats'))?.[1] ?? 0);
}

describe('the Redis memory gauges', () => {
  let server: RedisServer;
  let admin: Redis;
  const url = () => `redis://127.0.0.1:${server.port}`;

  beforeAll(async () => {
    server = await startRedisServer(['--port', '{port}', '--maxmemory', String(MAXMEMORY), '--maxmemory-policy', 'noeviction'], (port) => ({ host: '127.0.0.1', port }));
    admin = new Redis(url());
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  it('show used_memory and maxmemory of the Redis they read', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const redis = createRedis(url(), 'producer');
    await waitReady(redis);
    trackRedisMemory(redis, metrics);
    const { used, max } = await gauges(metrics);
    expect(max).toBe(MAXMEMORY);
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThan(MAXMEMORY);
    await redis.quit();
  });

  it('read INFO once for any number of scrapes within the interval, and once per scrape without one', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const redis = createRedis(url(), 'producer');
    await waitReady(redis);
    const untrack = trackRedisMemory(redis, metrics, 60_000);
    const before = await infoCalls(admin);
    await Promise.all([gauges(metrics), gauges(metrics)]);
    await gauges(metrics);
    // One reading, plus the INFO commandstats that counted `before`.
    expect((await infoCalls(admin)) - before).toBe(2);

    untrack();
    trackRedisMemory(redis, metrics, 0);
    const again = await infoCalls(admin);
    for (let i = 0; i < 3; i += 1) await gauges(metrics);
    expect((await infoCalls(admin)) - again).toBe(4);
    await redis.quit();
  });

  it('show no series when Redis does not answer, nor once the connection is closed, nor where nothing reads them', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    expect(await gauges(metrics)).toEqual({ used: undefined, max: undefined });

    const redis = createRedis(url(), 'producer');
    await waitReady(redis);
    trackRedisMemory(redis, metrics, 0);
    expect((await gauges(metrics)).max).toBe(MAXMEMORY);
    // A fail-fast connection that is not connected refuses at once: no reading, no stale value.
    const reconnected = new Promise<void>((resolve) => redis.once('ready', () => resolve()));
    redis.disconnect(true);
    expect(await gauges(metrics)).toEqual({ used: undefined, max: undefined });
    await reconnected;
    expect((await gauges(metrics)).max).toBe(MAXMEMORY);
    await redis.quit();
    expect(await gauges(metrics)).toEqual({ used: undefined, max: undefined });
  });

  it("are exported on the API's /metrics", async () => {
    const stack = await startStack({ worker: false, env: { REDIS_URL: url() } });
    try {
      const scrape = await Scrape.of(`${stack.baseUrl}/metrics`);
      expect(scrape.samples.find((s) => s.name === MAX)?.value).toBe(MAXMEMORY);
      expect(scrape.samples.find((s) => s.name === USED)?.value).toBeGreaterThan(0);
    } finally {
      await stack.close();
    }
  });
});
