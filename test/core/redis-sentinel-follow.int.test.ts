import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, LocalRedis, redisAnswers } from '../../core/local-redis.ts';
import { createRedis } from '../../core/redis.ts';
import { FailoverFollowingConnector, targetOptions } from '../../core/redis-target.ts';
import { TcpForwarder } from '../support/tcp-forwarder.ts';

const MASTER = 'follow';
const hasSentinel = spawnSync('redis-sentinel', ['--version'], { stdio: 'ignore' }).status === 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await Promise.resolve().then(check).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** One sentinel (quorum 1) watching `primary`; failovers are asked for with SENTINEL FAILOVER. */
async function startSentinel(primary: number): Promise<{ port: number; child: ChildProcess; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-follow-'));
  const file = path.join(dir, 'sentinel.conf');
  writeFileSync(
    file,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${MASTER} 127.0.0.1 ${primary} 1`,
      `sentinel down-after-milliseconds ${MASTER} 5000`,
      `sentinel failover-timeout ${MASTER} 5000`,
      '',
    ].join('\n'),
  );
  const child = spawn('redis-sentinel', [file], { stdio: 'ignore' });
  await until(`redis-sentinel on ${port}`, () => redisAnswers('127.0.0.1', port, 200));
  return { port, child, dir };
}

describe.skipIf(!hasSentinel)('a connection through Sentinel', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('carries the connector that follows failovers into its duplicates (BullMQ duplicates its connection)', () => {
    const { options } = targetOptions({ sentinels: [{ host: '127.0.0.1', port: 1 }], name: MASTER });
    const redis = new Redis({ ...options, lazyConnect: true });
    expect(redis.options.Connector).toBe(FailoverFollowingConnector);
    expect(redis.duplicate().options.Connector).toBe(FailoverFollowingConnector);
  });

  it('asks the next sentinel when one accepts connections and never answers', { timeout: 60_000 }, async () => {
    const primary = await LocalRedis.start();
    cleanups.push(() => primary.stop());
    const sentinel = await startSentinel(primary.port);
    cleanups.push(async () => {
      sentinel.child.kill('SIGKILL');
      rmSync(sentinel.dir, { recursive: true, force: true });
    });
    // A sentinel host that hangs: its port accepts, nothing ever answers.
    const silent = await TcpForwarder.start(sentinel.port);
    silent.hold();
    cleanups.push(() => silent.close());

    const sentinels = [{ host: '127.0.0.1', port: silent.port }, { host: '127.0.0.1', port: sentinel.port }];
    const connection = createRedis({ sentinels, name: MASTER }, 'worker', undefined, 'silent-sentinel-test');
    cleanups.push(() => connection.disconnect());
    await until('the connection ready through the second sentinel', () => connection.status === 'ready', 20_000).catch(() => undefined);
    expect(connection.status).toBe('ready');
    await connection.set('written', 'through the second sentinel');
    const direct = new Redis({ host: '127.0.0.1', port: primary.port });
    cleanups.push(() => direct.disconnect());
    expect(await direct.get('written')).toBe('through the second sentinel');
  });

  it(
    'reaches the new primary when the sentinels announce the switch while it is reconnecting',
    { timeout: 60_000 },
    async () => {
      const primary = await LocalRedis.start();
      cleanups.push(() => primary.stop());
      const replica = await LocalRedis.start({ replicaOf: primary.port });
      cleanups.push(() => replica.stop());
      const sentinel = await startSentinel(primary.port);
      cleanups.push(async () => {
        sentinel.child.kill('SIGKILL');
        rmSync(sentinel.dir, { recursive: true, force: true });
      });
      const admin = (port: number) => {
        const redis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null });
        redis.on('error', () => undefined);
        cleanups.push(() => redis.disconnect());
        return redis;
      };
      const onSentinel = admin(sentinel.port);
      await until('the sentinel sees the replica in sync', async () => {
        const replicas = (await onSentinel.call('SENTINEL', 'REPLICAS', MASTER)) as string[][];
        return replicas.some((fields) => fields.join(' ').includes('master-link-status ok'));
      });

      const proxy = await TcpForwarder.start(sentinel.port);
      cleanups.push(() => proxy.close());
      const connection = createRedis({ sentinels: [{ host: '127.0.0.1', port: proxy.port }], name: MASTER }, 'worker', undefined, 'follow-test');
      cleanups.push(() => connection.disconnect());
      await connection.set('written', 'before');
      // Its failover detector is subscribed to `+switch-master`, through the proxy.
      await until('the failover detector subscribed', async () => ((await onSentinel.client('LIST')) as string).includes('cmd=subscribe'));

      // The connection drops (its primary went away) and reconnects: asking the sentinel takes a while.
      proxy.hold();
      await admin(primary.port).client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await until('the reconnection asking the sentinel', () => proxy.waiting > 0 && connection.status === 'connecting');

      // Meanwhile the sentinels switch to the replica and say so.
      const listener = admin(sentinel.port);
      const switched = new Promise<void>((resolve) => listener.on('message', () => resolve()));
      await listener.subscribe('+switch-master');
      await until('SENTINEL FAILOVER accepted', async () => (await onSentinel.call('SENTINEL', 'FAILOVER', MASTER)) === 'OK');
      await switched;
      await sleep(300);

      // The sentinel answers: the attempt goes on to the promoted replica, not to a closed connection.
      proxy.release();
      await until('the connection ready again', () => connection.status === 'ready' || connection.status === 'end', 15_000).catch(() => undefined);
      expect(connection.status).toBe('ready');
      await connection.set('written', 'after');
      expect(await admin(replica.port).get('written')).toBe('after');
      expect((await admin(replica.port).client('LIST')) as string).toContain('name=follow-test');
    },
  );
});
