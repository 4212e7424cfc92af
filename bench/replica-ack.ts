/**
 * `npm run bench:replica-ack` (`-- --rounds 6`): what `REDIS_MIN_REPLICAS_ACK=1` adds to a submission's latency.
 *
 * Starts a private primary and one replica (redis-server, loopback) and two API processes from the
 * sources, one with `REDIS_MIN_REPLICAS_ACK=0` and one with `1`, each on its own key prefix, no
 * worker (jobs stay queued: only the submission is measured). Then, alternating between the two
 * in `--rounds` rounds, times `POST /api/v1/jobs` with one client at a time (`--sequential`
 * requests: the latency one request pays) and with `--clients` clients at once (`--concurrent`
 * requests: where one WAIT serves several submissions). Prints one JSON line per setting and load,
 * with p50/p95/p99 in ms, requests per second and WAITs per submission, the median over the rounds.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { LocalRedis } from '../core/local-redis.ts';
import { SHARED_TINY_MODEL } from '../core/model/model-naming.ts';
import { READY_LINE, spawnRole, stopRole, type RoleProcess } from '../tools/role-process.ts';
import { JsonClient } from './load/http-client.ts';
import { median, percentile } from './stats.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    sequential: { type: 'string', default: '400' },
    concurrent: { type: 'string', default: '2000' },
    clients: { type: 'string', default: '16' },
  },
});
const rounds = Number(values.rounds);
const clients = Number(values.clients);

/** Latencies (ms) of `count` submissions by `parallel` clients, and their rate. */
async function submit(client: JsonClient, count: number, parallel: number): Promise<{ ms: number[]; perSecond: number }> {
  const ms: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        next += 1;
        const at = performance.now();
        const { status } = await client.post('/api/v1/jobs', { prompt: 'Once upon a time', max_tokens: 8, cache: false });
        if (status !== 202) throw new Error(`POST /api/v1/jobs answered ${status}`);
        ms.push(performance.now() - at);
      }
    }),
  );
  return { ms, perSecond: (count / (performance.now() - started)) * 1000 };
}

const primary = await LocalRedis.start();
const replica = await LocalRedis.start({ replicaOf: primary.port });
const processes: RoleProcess[] = [];
try {
  const onReplica = new Redis(replica.url);
  while (!/^master_link_status:up/m.test(await onReplica.info('replication'))) await new Promise((resolve) => setTimeout(resolve, 50));
  onReplica.disconnect();

  const apis = new Map<number, JsonClient>();
  for (const ack of [0, 1]) {
    const api = spawnRole('api', {
      REDIS_URL: primary.url,
      REDIS_PREFIX: `ack-bench-${ack}`,
      REDIS_MIN_REPLICAS_ACK: String(ack),
      MODEL: SHARED_TINY_MODEL,
      MODELS_DIR: os.tmpdir(),
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      CHECK_PROMPT_TOKENS: 'false',
      RATE_LIMIT_REQUESTS: '0',
      MAX_QUEUE_DEPTH: '0',
      TENANT_MAX_JOBS: '0',
    });
    processes.push(api);
    const { port } = JSON.parse(await api.waitForLine(READY_LINE.api)) as { port: number };
    apis.set(ack, new JsonClient(`http://127.0.0.1:${port}`));
  }
  // Warm both (JIT, connections) before anything counts.
  for (const client of apis.values()) await submit(client, 200, clients);

  // WAITs Redis ran, from INFO commandstats: how many submissions one WAIT served.
  const admin = new Redis(primary.url);
  const waits = async () => Number(/^cmdstat_wait:calls=(\d+)/m.exec(await admin.info('commandstats'))?.[1] ?? 0);
  const results = new Map<string, { p50: number[]; p95: number[]; p99: number[]; perSecond: number[]; waitsPerSubmission: number[] }>();
  for (let round = 0; round < rounds; round += 1) {
    // ABBA order: whatever drifts during the run (the queues grow, the machine's other load) weighs on both alike.
    const order = round % 2 === 0 ? [...apis] : [...apis].reverse();
    for (const [ack, client] of order) {
      for (const [load, count, parallel] of [['sequential', Number(values.sequential), 1], ['concurrent', Number(values.concurrent), clients]] as const) {
        const waitsBefore = await waits();
        const { ms, perSecond } = await submit(client, count, parallel);
        const key = `${ack}/${load}`;
        const entry = results.get(key) ?? { p50: [], p95: [], p99: [], perSecond: [], waitsPerSubmission: [] };
        entry.waitsPerSubmission.push(((await waits()) - waitsBefore) / count);
        entry.p50.push(percentile(ms, 50));
        entry.p95.push(percentile(ms, 95));
        entry.p99.push(percentile(ms, 99));
        entry.perSecond.push(perSecond);
        results.set(key, entry);
      }
    }
  }
  admin.disconnect();
  const round2 = (value: number) => Math.round(value * 100) / 100;
  for (const [key, entry] of results) {
    const [ack, load] = key.split('/');
    process.stdout.write(
      `${JSON.stringify({
        REDIS_MIN_REPLICAS_ACK: Number(ack),
        load: load === 'sequential' ? 'one client' : `${clients} clients`,
        p50Ms: round2(median(entry.p50)),
        p95Ms: round2(median(entry.p95)),
        p99Ms: round2(median(entry.p99)),
        perSecond: Math.round(median(entry.perSecond)),
        waitsPerSubmission: round2(median(entry.waitsPerSubmission)),
        rounds,
        cpus: os.cpus().length,
      })}\n`,
    );
  }
} finally {
  await Promise.all(processes.map((proc) => stopRole(proc, 5000)));
  await replica.stop();
  await primary.stop();
}
