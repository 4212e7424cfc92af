import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from '../../core/local-redis.ts';

export interface RedisServer {
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * A private redis-server with extra arguments (a password, TLS, a renamed command), ready when a
 * client with `clientOptions` gets PONG. `{port}` in the arguments is replaced by the chosen port.
 */
export async function startRedisServer(args: string[], clientOptions: (port: number) => RedisOptions): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-redis-sec-'));
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...args.map((a) => a.replace('{port}', String(port)))], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis({ ...clientOptions(port), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') break;
    } catch {
      // not up yet
    } finally {
      probe.disconnect();
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server ${args.join(' ')} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
