import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, redisAnswers } from '../../../core/local-redis.ts';
import { sleep } from './cluster.ts';

/** Master group name the sentinels monitor. */
export const MASTER_NAME = 'llmo';

interface Node {
  port: number;
  child: ChildProcess;
}

/**
 * A primary, one replica and three sentinels (quorum 2), all on loopback in a temp dir: Debian's
 * `redis-server` and `redis-sentinel`. Sentinels call the primary down after `downAfterMs` of
 * silence and promote the replica.
 */
export class SentinelSet {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-sentinel-'));
  private readonly nodes = new Map<number, Node>();
  private readonly sentinels: Node[] = [];

  private constructor(private readonly downAfterMs: number) {}

  static async start(options: { downAfterMs?: number } = {}): Promise<SentinelSet> {
    const set = new SentinelSet(options.downAfterMs ?? 1000);
    const primary = await set.startNode(await freePort());
    await set.startNode(await freePort(), primary);
    for (let i = 0; i < 3; i += 1) await set.startSentinel(primary, i);
    await set.untilHealthy();
    return set;
  }

  /**
   * Until a failover can happen: every sentinel names the same primary, knows the two others (their
   * hello messages come every 2 s) and sees one replica up with its link to the primary in sync.
   */
  async untilHealthy(): Promise<void> {
    await this.until('sentinels that agree on the primary and see its replica in sync', async () => {
      const views = await Promise.all(
        this.sentinels.map((s) =>
          this.ask(s.port, async (r) => ({
            primary: ((await r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as string[])[1],
            replicas: ((await r.call('SENTINEL', 'REPLICAS', MASTER_NAME)) as string[][]).map(fields),
            sentinels: ((await r.call('SENTINEL', 'SENTINELS', MASTER_NAME)) as unknown[]).length,
          })),
        ),
      );
      const healthy = (replica: Record<string, string>) => replica.flags === 'slave' && replica['master-link-status'] === 'ok';
      return views.every((v) => v.primary === views[0]?.primary && v.sentinels === 2 && v.replicas.filter(healthy).length === 1);
    });
  }

  /** What the processes are configured with. */
  get env(): Record<string, string> {
    return { REDIS_SENTINELS: this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(','), REDIS_SENTINEL_NAME: MASTER_NAME };
  }

  /** The primary as the sentinels name it now. */
  async primaryPort(): Promise<number> {
    const [, port] = (await this.ask(this.sentinels[0]!.port, (r) => r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME))) as [string, string];
    return Number(port);
  }

  /** Runs `command` on a fresh client of the current primary. */
  async onPrimary<T>(command: (redis: Redis) => Promise<T>): Promise<T> {
    return await this.ask(await this.primaryPort(), command);
  }

  /** Kills a data node at once, as a host that dies: no AOF rewrite, no goodbye to the replica. */
  async kill(port: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const node = this.nodes.get(port);
    if (!node || node.child.exitCode !== null || node.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      node.child.once('exit', () => resolve());
      node.child.kill(signal);
    });
  }

  /** Starts a data node again on its port, as a replica of `primary` (what the sentinels make of a returning old primary). */
  async restartAsReplica(port: number, primary: number): Promise<void> {
    await this.startNode(port, primary);
  }

  async until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  async stop(): Promise<void> {
    const all = [...this.sentinels, ...this.nodes.values()];
    await Promise.all(
      all.map(
        (node) =>
          new Promise<void>((resolve) => {
            if (node.child.exitCode !== null || node.child.signalCode !== null) return resolve();
            node.child.once('exit', () => resolve());
            node.child.kill('SIGKILL');
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async ask<T>(port: number, command: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      return await command(redis);
    } finally {
      redis.disconnect();
    }
  }

  private async startNode(port: number, replicaOf?: number): Promise<number> {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', this.dir, '--dbfilename', `node-${port}.rdb`, '--save', '', '--appendonly', 'no'];
    args.push('--maxmemory', '256mb', '--maxmemory-policy', 'noeviction', '--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0');
    if (replicaOf !== undefined) args.push('--replicaof', '127.0.0.1', String(replicaOf));
    this.nodes.set(port, { port, child: this.spawn('redis-server', args) });
    await this.until(`redis-server on ${port}`, () => redisAnswers('127.0.0.1', port, 200));
    return port;
  }

  private async startSentinel(primary: number, index: number): Promise<void> {
    const port = await freePort();
    const file = path.join(this.dir, `sentinel-${index}.conf`);
    // Sentinel rewrites its own file (what it learned), so each needs one it may write.
    writeFileSync(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${this.dir}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primary} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} ${this.downAfterMs}`,
        `sentinel failover-timeout ${MASTER_NAME} 5000`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
        '',
      ].join('\n'),
    );
    this.sentinels.push({ port, child: this.spawn('redis-sentinel', [file]) });
    await this.until(`redis-sentinel on ${port}`, () => redisAnswers('127.0.0.1', port, 200));
  }

  private spawn(command: string, args: string[]): ChildProcess {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', () => undefined);
    return child;
  }
}

/** A reply of `key, value, key, value, …` as an object. */
function fields(flat: string[]): Record<string, string> {
  const entries: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) entries[flat[i]!] = flat[i + 1]!;
  return entries;
}
