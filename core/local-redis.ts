import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from './logger.ts';
import { describeTarget, type RedisTarget } from './redis-target.ts';

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** True when something answers Redis's PING at host:port within the timeout. */
export async function redisAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG') || data.toString().startsWith('-NOAUTH')));
  });
}

export function hasRedisServerBinary(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface LocalRedisOptions {
  port?: number;
  /** Append-only file with fsync every second, as in production. Default false. */
  appendOnly?: boolean;
  /** Data directory; a fresh temp dir when omitted (removed by `stop({ removeDir: true })`). */
  dir?: string;
  /**
   * Redis `maxmemory`. Default `1gb`: with `noeviction`, a full Redis refuses writes (the API
   * answers 503) instead of growing until the machine kills it.
   */
  maxMemory?: string;
  /** Port of a primary on 127.0.0.1 to replicate (benchmarks and tests of replication). Default: none, a primary. */
  replicaOf?: number;
}

/** A private `redis-server` child process: for `npm start` without Redis, tests and benchmarks. */
export class LocalRedis {
  private child: ChildProcess | undefined;
  readonly dir: string;
  private readonly ownsDir: boolean;

  private constructor(
    readonly port: number,
    private readonly options: LocalRedisOptions,
  ) {
    this.ownsDir = options.dir === undefined;
    this.dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'llmo-redis-'));
  }

  static async start(options: LocalRedisOptions = {}): Promise<LocalRedis> {
    const server = new LocalRedis(options.port ?? (await freePort()), options);
    await server.spawn();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts (or restarts) the server on the same port and directory. */
  async spawn(): Promise<void> {
    const args = [
      '--port', String(this.port),
      '--bind', '127.0.0.1',
      '--dir', this.dir,
      '--save', '',
      '--maxmemory', this.options.maxMemory ?? '1gb',
      '--maxmemory-policy', 'noeviction',
      '--appendonly', this.options.appendOnly ? 'yes' : 'no',
      '--appendfsync', 'everysec',
      ...(this.options.replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(this.options.replicaOf), '--repl-diskless-sync-delay', '0']),
    ];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}`))),
    );
    exited.catch(() => undefined);
    const deadline = Date.now() + 10_000;
    while (!(await redisAnswers('127.0.0.1', this.port, 200))) {
      if (child.exitCode !== null) await exited;
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${this.port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends a signal and waits for the process to exit (SIGTERM lets Redis flush its AOF). */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  async stop({ removeDir = true } = {}): Promise<void> {
    await this.kill('SIGTERM');
    if (removeDir && this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The Redis a process uses: the configured one (`redisTargetOf`: sentinels or REDIS_URL) when set;
 * else 127.0.0.1:6379 when it answers; else a private redis-server started here (stopped with the
 * returned `stop`).
 */
export async function resolveRedis(
  configured: RedisTarget | undefined,
  logger: Logger,
): Promise<{ target: RedisTarget; stop: () => Promise<void> }> {
  if (configured) {
    // Which primary a connection reaches changes with failovers: the log says whom it asks.
    if (typeof configured !== 'string') logger.info({ redis: describeTarget(configured) }, 'Redis through Sentinel');
    return { target: configured, stop: async () => undefined };
  }
  if (await redisAnswers('127.0.0.1', 6379)) {
    logger.info('REDIS_URL not set; using the Redis on 127.0.0.1:6379');
    return { target: 'redis://127.0.0.1:6379', stop: async () => undefined };
  }
  if (!hasRedisServerBinary()) {
    throw new Error(
      'No Redis: set REDIS_URL (e.g. redis://localhost:6379), start Redis on 127.0.0.1:6379, ' +
        'or install redis-server so that one can be started automatically.',
    );
  }
  const server = await LocalRedis.start();
  logger.warn({ url: server.url, dir: server.dir }, 'REDIS_URL not set and no Redis on 6379: started a private redis-server (data is temporary)');
  return { target: server.url, stop: () => server.stop() };
}
