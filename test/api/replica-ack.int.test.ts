import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicaAck } from '../../api/replica-ack.ts';
import { startRedisServer, type RedisServer } from '../security/redis-server.ts';
import { http, startStack, type TestStack } from '../support/stack.ts';

const startNode = (...args: string[]) =>
  startRedisServer(['--port', '{port}', '--maxmemory-policy', 'noeviction', '--repl-diskless-sync-delay', '0', ...args], (port) => ({ host: '127.0.0.1', port }));

const waitCalls = async (admin: Redis) => Number(/^cmdstat_wait:calls=(\d+)/m.exec(await admin.info('commandstats'))?.[1] ?? 0);

describe('REDIS_MIN_REPLICAS_ACK: a job is acknowledged once replicas hold it', () => {
  let primary: RedisServer;
  let replica: RedisServer | undefined;
  let admin: Redis;
  let stack: TestStack;

  beforeAll(async () => {
    primary = await startNode();
    replica = await startNode('--replicaof', '127.0.0.1', String(primary.port));
    admin = new Redis({ host: '127.0.0.1', port: primary.port });
    const onReplica = new Redis({ host: '127.0.0.1', port: replica.port });
    for (let i = 0; !/^master_link_status:up/m.test(await onReplica.info('replication')); i += 1) {
      if (i > 200) throw new Error('replica not in sync');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    onReplica.disconnect();
    stack = await startStack({
      worker: false,
      env: { REDIS_URL: `redis://127.0.0.1:${primary.port}`, REDIS_MIN_REPLICAS_ACK: '1', REDIS_REPLICA_ACK_TIMEOUT_MS: '300', CACHE_TTL_SECONDS: '0' },
    });
  });

  afterAll(async () => {
    await stack?.close();
    admin?.disconnect();
    await replica?.stop();
    await primary?.stop();
  });

  it('confirms many writes with a few shared WAITs while the replica keeps up', async () => {
    const connection = new Redis({ host: '127.0.0.1', port: primary.port });
    const ack = new ReplicaAck(connection, 1, 1000);
    const before = await waitCalls(admin);
    const confirmed = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        await connection.set(`ack-test:${i}`, 'x', 'EX', 60);
        return await ack.confirm();
      }),
    );
    const waits = (await waitCalls(admin)) - before;
    connection.disconnect();
    expect(confirmed.every(Boolean)).toBe(true);
    expect(waits).toBeGreaterThan(0);
    expect(waits).toBeLessThan(50);
  });

  it('answers 202 for a job the replica holds', async () => {
    const response = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Once upon a time', max_tokens: 4 });
    expect(response.status).toBe(202);
    const onReplica = new Redis({ host: '127.0.0.1', port: replica!.port });
    // WAIT confirmed it: the replica has the job at once, with no further waiting.
    expect(await onReplica.exists(`${stack.config.REDIS_PREFIX}:${stack.config.QUEUE_NAME}:${response.body.id}`)).toBe(1);
    onReplica.disconnect();
  });

  it('answers 503 redis_replication_timeout within the bound when no replica confirms, and keeps no job', async () => {
    await replica!.stop();
    replica = undefined;
    const jobsBefore = await admin.keys(`${stack.config.REDIS_PREFIX}:${stack.config.QUEUE_NAME}:*-*`);
    const started = performance.now();
    const response = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Once upon a time', max_tokens: 4 });
    const ms = performance.now() - started;
    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('redis_replication_timeout');
    expect(response.headers.get('retry-after')).toBe('1');
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(2000);
    const metrics = await http(stack.baseUrl, 'GET', '/metrics');
    expect(String(metrics.body)).toMatch(/^llmo_jobs_unconfirmed_total\{queue="[^"]+",model="[^"]+"\} 1$/m);
    const jobsAfter = await admin.keys(`${stack.config.REDIS_PREFIX}:${stack.config.QUEUE_NAME}:*-*`);
    expect(jobsAfter.sort()).toEqual(jobsBefore.sort());
    expect(await admin.zcard(`${stack.config.REDIS_PREFIX}:${stack.config.QUEUE_NAME}:prioritized`) + (await admin.llen(`${stack.config.REDIS_PREFIX}:${stack.config.QUEUE_NAME}:wait`))).toBe(1);
  });
});
