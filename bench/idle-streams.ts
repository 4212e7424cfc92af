/**
 * `npx tsx bench/idle-streams.ts`: what clients that wait on a queued job cost Redis.
 *
 * Starts a private redis-server (so that nothing else's commands count) and one API process from
 * the sources (`api/main.ts`, as operators run it), with no worker: the job stays waiting. Opens `--streams` (default 1000) clients on
 * one job, lets the connection burst settle, then counts the commands Redis executed over
 * `--seconds` (default 10) from `INFO stats` (`total_commands_processed`, which includes the
 * commands Lua scripts run) and `INFO commandstats` (per command), leaving out the INFOs of the
 * measurement itself. `--mode`:
 *
 * - `sse` (default): `GET /api/v1/jobs/:id/events` on one job submitted with `POST /api/v1/jobs`;
 * - `openai-stream`: identical greedy `POST /v1/completions` with `stream: true` (in-flight
 *   sharing gives them one job);
 * - `openai-wait`: the same without `stream`, each waiting for its whole answer.
 *
 * Run it on another checkout to compare (it needs only what the API had before it existed).
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { loadConfig } from '../core/config.ts';
import { LocalRedis } from '../core/local-redis.ts';
import { expectedModelId, SHARED_TINY_MODEL } from '../core/model/model-naming.ts';
import { READY_LINE, spawnRole, stopRole, type RoleProcess } from '../tools/role-process.ts';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    settle: { type: 'string', default: '3' },
    mode: { type: 'string', default: 'sse' },
  },
});
const streams = Number(values.streams);
const seconds = Number(values.seconds);
const mode = values.mode;
if (!['sse', 'openai-stream', 'openai-wait'].includes(mode)) throw new Error(`--mode: sse, openai-stream or openai-wait, not ${mode}`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const git = (...args: string[]) => {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
};

/** One open request whose response is being read (and ignored) until `close`. */
function open(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; close: () => void }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      { host: '127.0.0.1', port, method, path, agent: false, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, close: () => req.destroy() });
      },
    );
    req.on('error', (error) => {
      if (!req.destroyed) reject(error);
    });
    if (payload) req.write(payload);
    req.end();
    // A non-streaming OpenAI request sends no headers until its answer: it counts as open once sent.
    if (mode === 'openai-wait') req.on('finish', () => resolve({ status: 0, close: () => req.destroy() }));
  });
}

/** Jobs of the queue by state, read as BullMQ keeps them (the API process is another process). */
async function jobCounts(admin: Redis, prefix: string): Promise<Record<string, number>> {
  const key = (state: string) => `${prefix}:generate:${state}`;
  return {
    waiting: await admin.llen(key('wait')),
    prioritized: await admin.zcard(key('prioritized')),
    active: await admin.llen(key('active')),
  };
}

interface Snapshot {
  total: number;
  calls: Map<string, number>;
}

async function snapshot(admin: Redis): Promise<Snapshot> {
  const stats = await admin.info('stats');
  const commandstats = await admin.info('commandstats');
  const total = Number(/total_commands_processed:(\d+)/.exec(stats)?.[1]);
  const calls = new Map<string, number>();
  for (const [, name, count] of commandstats.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) calls.set(name ?? '', Number(count));
  return { total, calls };
}

const redis = await LocalRedis.start();
const admin = new Redis(redis.url);
const env = {
  REDIS_URL: redis.url,
  REDIS_PREFIX: 'idle-bench',
  MODEL: SHARED_TINY_MODEL,
  MODELS_DIR: os.tmpdir(),
  HOST: '127.0.0.1',
  PORT: '0',
  CHECK_PROMPT_TOKENS: 'false',
  RATE_LIMIT_REQUESTS: '0',
  MAX_QUEUE_DEPTH: '0',
  // One client address opens them all: the per-client cap (where there is one) must let them.
  MAX_STREAMS_PER_CLIENT: String(streams + 1),
};
let api: RoleProcess | undefined;
const clients: { close: () => void }[] = [];

try {
  api = spawnRole('api', env);
  const { port } = JSON.parse(await api.waitForLine(READY_LINE.api)) as { port: number };
  let request: () => Promise<{ status: number; close: () => void }>;
  if (mode === 'sse') {
    const submitted = await fetch(`http://127.0.0.1:${port}/api/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 16 }),
    });
    const { id } = (await submitted.json()) as { id: string };
    request = () => open(port, 'GET', `/api/v1/jobs/${id}/events`);
  } else {
    // No worker has published its model: the id the configuration predicts is the one served.
    const body = { model: expectedModelId(loadConfig(env)), prompt: 'Once upon a time', max_tokens: 16, temperature: 0, ...(mode === 'openai-stream' ? { stream: true } : {}) };
    request = () => open(port, 'POST', '/v1/completions', body);
  }
  // In batches, so the burst of connections does not overrun the listen backlog.
  const statuses = new Map<number, number>();
  for (let i = 0; i < streams; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, streams - i) }, request));
    for (const client of batch) {
      clients.push(client);
      statuses.set(client.status, (statuses.get(client.status) ?? 0) + 1);
    }
  }
  const jobs = await jobCounts(admin, env.REDIS_PREFIX);
  await sleep(Number(values.settle) * 1000);

  const before = await snapshot(admin);
  const started = performance.now();
  await sleep(seconds * 1000);
  const after = await snapshot(admin);
  const elapsed = (performance.now() - started) / 1000;

  const ownInfos = 2; // the two INFO commands of `after`; those of `before` ran before it was read
  const commands = after.total - before.total - ownInfos;
  const byCommand = [...after.calls]
    .map(([name, count]) => [name, count - (before.calls.get(name) ?? 0) - (name === 'info' ? ownInfos : 0)] as const)
    .filter(([, count]) => count > 0)
    .sort((a, b) => b[1] - a[1]);
  const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
  const redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? 'unknown';

  console.log(`idle ${mode} clients: ${streams} on one queued job, no worker`);
  console.log(`  responses: ${[...statuses].map(([status, count]) => `${count} × ${status || 'sent, no answer yet'}`).join(', ')}; queue: ${JSON.stringify(jobs)}`);
  console.log(`  commit ${git('rev-parse', '--short', 'HEAD')}${dirty ? ' (with uncommitted changes)' : ''}; redis ${redisVersion}; node ${process.version}; ${os.availableParallelism()} cores`);
  console.log(`  Redis commands over ${elapsed.toFixed(1)} s (after ${values.settle} s to settle): ${commands}, ${(commands / elapsed).toFixed(1)} per second`);
  console.log(`  by command (calls, including those run by Lua scripts): ${byCommand.map(([name, count]) => `${name} ${count}`).join(', ') || 'none'}`);
} finally {
  for (const client of clients) client.close();
  if (api) await stopRole(api);
  await admin.quit();
  await redis.stop();
}
