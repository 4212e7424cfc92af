import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { assertNoEviction, createRedis, EvictionPolicyError } from '../../core/redis.ts';
import { startRedisServer, type RedisServer } from '../security/redis-server.ts';

interface LogLine {
  level: number;
  msg: string;
}

/** A real logger whose lines the test reads. */
function capturingLogger() {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, warnings: () => lines.filter((line) => line.level === 40).map((line) => line.msg) };
}

describe('the start-up check of Redis (assertNoEviction)', () => {
  const servers: RedisServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });
  const check = async (...args: string[]) => {
    const server = await startRedisServer(['--port', '{port}', ...args], (port) => ({ host: '127.0.0.1', port }));
    servers.push(server);
    const redis = createRedis(`redis://127.0.0.1:${server.port}`, 'producer');
    const { logger, warnings } = capturingLogger();
    try {
      await assertNoEviction(redis, logger);
      return { warnings: warnings() };
    } finally {
      redis.disconnect();
    }
  };

  it('warns, and lets the process start, when Redis has no maxmemory', async () => {
    const { warnings } = await check('--maxmemory-policy', 'noeviction');
    expect(warnings).toEqual([expect.stringMatching(/^Redis has no maxmemory: with noeviction it grows until the host runs out of memory and the OOM killer stops it/)]);
    expect(warnings[0]).toMatch(/CONFIG SET maxmemory/);
  });

  it('says nothing when maxmemory is set', async () => {
    const { warnings } = await check('--maxmemory-policy', 'noeviction', '--maxmemory', '64mb');
    expect(warnings).toEqual([]);
  });

  it('still refuses an eviction policy, limit or not', async () => {
    await expect(check('--maxmemory-policy', 'allkeys-lru', '--maxmemory', '64mb')).rejects.toBeInstanceOf(EvictionPolicyError);
  });
});
