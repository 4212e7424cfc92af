import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../core/local-redis.ts';
import { SHARED_TINY_MODEL } from '../../core/model/model-naming.ts';
import { READY_LINE, spawnRole, stopRole, type RoleProcess } from '../support/processes.ts';
import { recordFigures, request, sleep } from './support/cluster.ts';
import { SentinelSet } from './support/sentinel-set.ts';

/** Jobs submitted, by this many clients at once, spread over the two API processes. */
const JOBS = 200;
const CLIENTS = 8;
/** The primary is killed once this many jobs were accepted: mid-run, with jobs waiting, running and done. */
const KILL_AFTER = 70;
/**
 * Bounds that keep a broken build from hanging CI: each run takes about 20 s when it works, after a
 * setup (sentinels in agreement, the worker's model loaded) of 20–30 s, 45 s or more while other
 * suites load the cores. A test's timeout covers the 90 s the setup may take and both phases.
 */
const RUN_TIMEOUT_MS = 150_000;
const PHASE_MS = 25_000;
const ACK_TIMEOUT_MS = 500;
/** How long the promoted primary runs alone before the old one is back as its replica: jobs then have no second copy. */
const ALONE_MS = 2000;

interface Attempt {
  job: number;
  status: number;
  code?: string;
  id?: string;
  ms: number;
  at: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? null;
const byCode = (attempts: Attempt[]) =>
  attempts.reduce<Record<string, number>>((counts, a) => ({ ...counts, [`${a.status} ${a.code ?? ''}`.trim()]: (counts[`${a.status} ${a.code ?? ''}`.trim()] ?? 0) + 1 }), {});

describe('a Redis primary SIGKILLed under Sentinel while two API processes accept jobs', () => {
  let set: SentinelSet | undefined;
  const processes: RoleProcess[] = [];
  /** The last run's processes: vitest calls `onTestFailed` after `afterEach` has stopped them. */
  let stopped: RoleProcess[] = [];

  afterEach(async () => {
    stopped = processes.splice(0);
    await Promise.all(stopped.map((proc) => stopRole(proc, 3000)));
    await set?.stop();
    set = undefined;
  });

  /** A primary, a replica and three sentinels; a worker and two APIs on them; 200 jobs; the primary killed and restarted as a replica. */
  async function run(minReplicasAck: number) {
    const setupStarted = Date.now();
    set = await SentinelSet.start({ downAfterMs: 1000 });
    const sentinels = set;
    const modelsDir = path.join(sentinels.dir, 'models');
    mkdirSync(modelsDir);
    const env = {
      ...sentinels.env,
      REDIS_PREFIX: `chaos-${randomUUID().slice(0, 8)}`,
      REDIS_MIN_REPLICAS_ACK: String(minReplicasAck),
      REDIS_REPLICA_ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS),
      MODEL: SHARED_TINY_MODEL,
      MODELS_DIR: modelsDir,
      CONTEXT_SIZE: '512',
      POOL_THREADS: '1',
      LLAMA_THREADS: '1',
      WORKER_METRICS_PORT: '0',
      JOB_BACKOFF_MS: '200',
      JOB_LOCK_MS: '5000',
      CACHE_TTL_SECONDS: '0',
      RATE_LIMIT_REQUESTS: '0',
      LOG_LEVEL: 'info',
    };
    const worker = spawnRole('worker', env);
    const ports = [await freePort(), await freePort()];
    const apis = ports.map((port) => spawnRole('api', { ...env, HOST: '127.0.0.1', PORT: String(port) }));
    processes.push(worker, ...apis);
    await Promise.all([worker.waitForLine(READY_LINE.worker, 90_000), ...apis.map((api) => api.waitForLine(READY_LINE.api))]);
    const bases = ports.map((port) => `http://127.0.0.1:${port}`);
    const setupMs = Date.now() - setupStarted;

    const attempts: Attempt[] = [];
    const accepted = new Map<number, string>();
    const started = Date.now();
    let next = 0;
    const client = async () => {
      for (let job = next++; job < JOBS; job = next++) {
        for (let attempt = 0; !accepted.has(job) && Date.now() - started < PHASE_MS; attempt += 1) {
          const at = Date.now();
          const response = await request(bases[(job + attempt) % 2]!, 'POST', '/api/v1/jobs', {
            body: { prompt: `Once upon a time, tale ${job}`, max_tokens: 8, temperature: 0, cache: false },
            timeoutMs: 10_000,
          }).catch(() => ({ status: 0, ms: Date.now() - at, body: undefined }));
          attempts.push({ job, status: response.status, code: response.body?.error?.code, id: response.body?.id, ms: response.ms, at });
          if (response.status === 202) accepted.set(job, response.body.id);
          else await sleep(100);
        }
      }
    };
    const failover = (async () => {
      while (accepted.size < KILL_AFTER && Date.now() - started < PHASE_MS) await sleep(5);
      const old = await sentinels.primaryPort();
      const acceptedAtKill = accepted.size;
      await sentinels.kill(old);
      const killedAt = Date.now();
      let promoted = old;
      await sentinels.until('a replica promoted', async () => (promoted = await sentinels.primaryPort()) !== old);
      const promotedAt = Date.now();
      // A supervisor starts the dead node again; it comes back as the new primary's replica. Until
      // then a job has one copy: REDIS_MIN_REPLICAS_ACK=1 refuses it, 0 accepts it.
      await sleep(ALONE_MS);
      await sentinels.restartAsReplica(old, promoted);
      return { acceptedAtKill, killedAt, promotedAt, restartedAt: Date.now() };
    })();
    await Promise.all(Array.from({ length: CLIENTS }, client));
    const { acceptedAtKill, killedAt, promotedAt, restartedAt } = await failover;

    const states = new Map<string, string>();
    const drainDeadline = Date.now() + PHASE_MS;
    for (const id of accepted.values()) {
      for (;;) {
        const { status, body } = await request(bases[0]!, 'GET', `/api/v1/jobs/${id}`);
        states.set(id, status === 404 ? 'missing' : String(body?.status));
        if (!['waiting', 'active', 'undefined'].includes(states.get(id)!) || Date.now() > drainDeadline) break;
        await sleep(50);
      }
    }
    // Jobs in Redis beyond those acknowledged: refused (503) while being written, yet kept or brought
    // back by the failover, they run with no one waiting (docs/reliability.md).
    const jobsInRedis = await sentinels.onPrimary(async (redis) => {
      const queue = `${env.REDIS_PREFIX}:generate`;
      const counts = await Promise.all([
        redis.zcard(`${queue}:completed`),
        redis.zcard(`${queue}:failed`),
        redis.llen(`${queue}:wait`),
        redis.llen(`${queue}:active`),
        redis.zcard(`${queue}:prioritized`),
        redis.zcard(`${queue}:delayed`),
      ]);
      return counts.reduce((sum, n) => sum + n, 0);
    });
    const missing = [...states.values()].filter((state) => state === 'missing').length;
    const refused = attempts.filter((a) => a.status !== 202);
    const unavailable = refused.filter((a) => a.code === 'redis_unavailable');
    const unconfirmed = refused.filter((a) => a.code === 'redis_replication_timeout');
    const refusedAfterKill = refused.filter((a) => a.at >= killedAt);
    const acceptedAfterKill = attempts.filter((a) => a.status === 202 && a.at >= killedAt);
    const completed = [...states.values()].filter((state) => state === 'completed').length;
    const figures = {
      minReplicasAck: minReplicasAck,
      jobs: JOBS,
      requests: attempts.length,
      accepted: accepted.size,
      acceptedBeforeKill: acceptedAtKill,
      completed,
      lost: accepted.size - completed,
      missing,
      unacknowledgedJobsInRedis: jobsInRedis - (accepted.size - missing),
      refused: byCode(refused),
      refusedAfterKill: refusedAfterKill.length,
      slowestUnavailable503Ms: Math.round(Math.max(0, ...unavailable.map((a) => a.ms))),
      medianUnavailable503Ms: unavailable.length ? Math.round(median(unavailable.map((a) => a.ms))!) : null,
      slowestReplicationTimeout503Ms: Math.round(Math.max(0, ...unconfirmed.map((a) => a.ms))),
      promotedAfterMs: promotedAt - killedAt,
      // When the first request sent after the kill was answered 202 (with acks: once a replica had it).
      firstAcceptedAfterKillMs: acceptedAfterKill.length ? Math.round(Math.min(...acceptedAfterKill.map((a) => a.at + a.ms)) - killedAt) : null,
      replicaBackAfterKillMs: restartedAt - killedAt,
      acceptLatencyMedianMs: Math.round(median(attempts.filter((a) => a.status === 202).map((a) => a.ms))!),
      setupMs,
      runMs: Date.now() - started,
    };
    recordFigures(`redis-sentinel-failover-ack-${minReplicasAck}`, figures);
    if (figures.lost > 0) {
      // What the processes and the API said, kept beside the figures: the failover leaves no other trace.
      const probe = async (base: string, route: string) => {
        const { status, body } = await request(base, 'GET', route).catch((error: unknown) => ({ status: 0, body: String(error) }));
        return `${base}${route} -> ${status} ${JSON.stringify(body).slice(0, 300)}`;
      };
      const lostId = [...accepted.values()].find((id) => states.get(id) !== 'completed') ?? '';
      const probes = await Promise.all(bases.flatMap((base) => [probe(base, '/api/health'), probe(base, '/api/ready'), probe(base, `/api/v1/jobs/${lostId}`)]));
      const quiet = /"msg":"(queue|batch queue|batch coordinator|queue events) error"/;
      const clients = await sentinels.onPrimary(async (redis) => (await redis.client('LIST')) as string);
      const workerPid = processes[0]!.child.pid;
      const ps = await new Promise<string>((resolve) =>
        execFile('ps', ['-o', 'pid,stat,pcpu,etime,nlwp', '-p', String(workerPid)], (_error, stdout) => resolve(stdout)),
      );
      const report = [
        ...probes,
        `worker process:\n${ps}`,
        `connections on the primary by name: ${JSON.stringify(clients.split('\n').map((line) => /\bname=(\S*)/.exec(line)?.[1]).filter(Boolean))}`,
        `states: ${JSON.stringify(Object.fromEntries([...new Set(states.values())].map((state) => [state, [...states.values()].filter((s) => s === state).length])))}`,
        ...processes.map((proc) => `--- ${proc.role} ${proc.child.pid}\n${proc.lines.filter((line) => !quiet.test(line)).slice(-40).join('\n')}`),
      ].join('\n');
      writeFileSync(path.join('test-results', 'chaos', `redis-sentinel-failover-ack-${minReplicasAck}.log`), report);
      console.log(report);
    }

    // Every job was either accepted or refused with a 503 to retry, never an error of ours or a hang.
    expect(accepted.size, 'jobs accepted').toBe(JOBS);
    for (const a of refused) {
      expect(a, 'refused submission').toMatchObject({ status: 503 });
      expect(['redis_unavailable', 'redis_replication_timeout']).toContain(a.code);
    }
    // Refused at once while the primary is away, as when Redis restarts. A replication timeout
    // takes its wait by design (up to three: docs/reliability.md); its latency is printed above.
    for (const a of unavailable) expect(a.ms, 'redis_unavailable latency').toBeLessThan(1000);
    // The processes followed the failover by themselves.
    for (const proc of processes) expect(proc.child.exitCode).toBeNull();
    return figures;
  }

  /** What the processes said last, when a run failed or hung: the failover leaves no other trace. */
  const tellOnFailure = ({ onTestFailed }: { onTestFailed: (fn: () => void) => void }) =>
    onTestFailed(() => {
      const quiet = /"msg":"(queue|batch queue|batch coordinator|queue events) error"/;
      for (const proc of [...processes, ...stopped]) console.log(`--- ${proc.role} ${proc.child.pid}\n${proc.lines.filter((line) => !quiet.test(line)).slice(-25).join('\n')}`);
    });

  it('with REDIS_MIN_REPLICAS_ACK=1, completes every job it acknowledged', { timeout: RUN_TIMEOUT_MS }, async (context) => {
    tellOnFailure(context);
    const figures = await run(1);
    expect(figures.lost).toBe(0);
  });

  it('with REDIS_MIN_REPLICAS_ACK=0, follows the failover too and reports the jobs lost (a measured figure)', { timeout: RUN_TIMEOUT_MS }, async (context) => {
    tellOnFailure(context);
    const figures = await run(0);
    // Replication is asynchronous: a job acknowledged in the instant before the kill may be gone.
    // How many is what this run measured (printed above); no fixed number can be promised. What
    // the new primary has completes: a lost job is missing, never stuck or failed.
    expect(figures.lost).toBe(figures.missing);
  });
});
