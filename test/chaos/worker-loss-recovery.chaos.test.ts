import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoleProcess } from '../support/processes.ts';
import { ChaosCluster, recordFigures, request, sleep } from './support/cluster.ts';
import { startCpuLoad } from './support/cpu-load.ts';
import { awaitRun, duplicatedJobs, streamEntries, submitRun, type JobRun } from './support/job-runs.ts';

/** Sized so that two workers run them in a few seconds here. */
const JOBS = 24;
const TOKENS = 400;
/** Kills measured for the median; each costs a run and a worker start. */
const KILL_RUNS = 3;
/** Busy loops beside the system in the starved run: more runnable processes than the 2 cores of CI. */
const LOAD_PROCESSES = 3;
const RUN_TIMEOUT_MS = 60_000;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** The production lock settings (JOB_LOCK_MS and what follows from it): no override. */
describe('a worker lost mid-run', () => {
  let cluster: ChaosCluster;
  let baseUrl: string;
  const workers: RoleProcess[] = [];
  const allIds: string[] = [];
  let noKillMs = Number.NaN;

  const pidOf = (owner: string | null) => workers.find((w) => owner?.includes(`:${w.child.pid}:`));
  const stalledOf = async (ids: string[], since = 0) => {
    const events = streamEntries(await cluster.redis.xrange(`${cluster.queueKey}:events`, since ? `${since}-0` : '-', '+'));
    const wanted = new Set(ids);
    return events.filter((e) => e.event === 'stalled' && wanted.has(e.jobId!)).map((e) => e.jobId!);
  };
  const expectWholeAnswers = async (run: JobRun) => {
    await Promise.all([run.openAi.done, run.native.done]);
    const view = (await request(baseUrl, 'GET', `/api/v1/jobs/${run.streamed}`)).body;
    expect(run.openAi.text).toBe(view.result.text);
    expect(run.native.text).toBe(view.result.text);
    return view.result.text.length as number;
  };

  beforeAll(async () => {
    cluster = await ChaosCluster.start({ CACHE_TTL_SECONDS: '0' });
    ({ baseUrl } = await cluster.startApi());
    workers.push(...(await Promise.all([cluster.startWorker(), cluster.startWorker()])));
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('has its jobs running again within seconds, none lost or run twice, and its streaming clients get whole answers', async () => {
    const warm = await submitRun(baseUrl, 'no-kill', JOBS, TOKENS);
    allIds.push(...warm.ids);
    noKillMs = await awaitRun(cluster, warm, RUN_TIMEOUT_MS);
    await expectWholeAnswers(warm);

    const kills: Array<{ killAfterMs: number; totalMs: number; extraMs: number; interrupted: number; recoveryMs: number[]; streamedStarts: number }> = [];
    const falseStalls: string[] = [];
    for (let k = 1; k <= KILL_RUNS; k += 1) {
      const run = await submitRun(baseUrl, `kill-${k}`, JOBS, TOKENS);
      allIds.push(...run.ids);
      // Kill the worker running the streamed job once its clients have text: they are mid-answer.
      while (run.openAi.text.length === 0) await sleep(5);
      const victim = pidOf(await cluster.redis.hget(`${cluster.queueKey}:${run.streamed}`, 'pb'));
      if (!victim) throw new Error('the streamed job runs on no known worker');
      const active = await cluster.redis.lrange(`${cluster.queueKey}:active`, 0, -1);
      const owners = await Promise.all(active.map((id) => cluster.redis.hget(`${cluster.queueKey}:${id}`, 'pb')));
      const held = active.filter((_, i) => owners[i]?.includes(`:${victim.child.pid}:`));
      const killedAt = Date.now();
      victim.kill('SIGKILL');
      await victim.exited;
      // Restarted as a supervisor would, while the run goes on.
      workers.splice(workers.indexOf(victim), 1);
      const replacement = cluster.startWorker().then((worker) => void workers.push(worker));

      const totalMs = await awaitRun(cluster, run, RUN_TIMEOUT_MS);
      // A job whose completion reached Redis just before the kill was not interrupted.
      const finishers = await Promise.all(held.map((id) => cluster.redis.hget(`${cluster.queueKey}:${id}`, 'pb')));
      const interrupted = held.filter((_, i) => !finishers[i]?.includes(`:${victim.child.pid}:`));
      const after = streamEntries(await cluster.redis.xrange(`${cluster.queueKey}:events`, `${killedAt}-0`, '+'));
      const recoveryMs = interrupted.map((id) => Number(after.find((e) => e.event === 'active' && e.jobId === id)?.at ?? Number.NaN) - killedAt);
      falseStalls.push(...(await stalledOf(run.ids, run.startedAt)).filter((id) => !interrupted.includes(id)));
      expect(interrupted).toContain(run.streamed);
      await expectWholeAnswers(run);
      kills.push({ killAfterMs: killedAt - run.startedAt, totalMs, extraMs: totalMs - noKillMs, interrupted: interrupted.length, recoveryMs, streamedStarts: run.native.starts });
      await replacement;
    }

    const { lost, duplicated } = await duplicatedJobs(cluster, baseUrl, allIds);
    const recoveries = kills.flatMap((kill) => kill.recoveryMs);
    const figures = {
      jobsPerRun: JOBS,
      tokensPerJob: TOKENS,
      noKillMs,
      kills,
      medianRecoveryMs: median(recoveries),
      maxRecoveryMs: Math.max(...recoveries),
      medianExtraMs: median(kills.map((kill) => kill.extraMs)),
      maxExtraMs: Math.max(...kills.map((kill) => kill.extraMs)),
      lost: lost.length,
      duplicated: duplicated.length,
      falseStalls: falseStalls.length,
    };
    recordFigures('worker-loss-recovery', figures);

    expect(lost).toEqual([]);
    expect(duplicated).toEqual([]);
    expect(falseStalls).toEqual([]);
    expect(recoveries.every(Number.isFinite)).toBe(true);
    expect(figures.medianRecoveryMs).toBeLessThanOrEqual(10_000);
    expect(figures.maxExtraMs).toBeLessThanOrEqual(12_000);
    // The streaming clients saw the killed attempt and the next one, and kept only the next one's text.
    for (const kill of kills) expect(kill.streamedStarts).toBeGreaterThanOrEqual(2);
  });

  it('keeps the jobs of live workers starved of CPU: no stall, no lock renewal missed', async () => {
    const load = startCpuLoad(LOAD_PROCESSES);
    let lowestLockMs = Number.POSITIVE_INFINITY;
    let sampling = true;
    // How close a live job's lock came to expiring: the least time to live of any active job's lock.
    const sampler = (async () => {
      while (sampling) {
        const active = await cluster.redis.lrange(`${cluster.queueKey}:active`, 0, -1);
        const ttls = await Promise.all(active.map((id) => cluster.redis.pttl(`${cluster.queueKey}:${id}:lock`)));
        for (const ttl of ttls) if (ttl > 0) lowestLockMs = Math.min(lowestLockMs, ttl);
        await sleep(50);
      }
    })();
    let run: JobRun;
    let totalMs: number;
    try {
      run = await submitRun(baseUrl, 'starved', JOBS, TOKENS);
      allIds.push(...run.ids);
      totalMs = await awaitRun(cluster, run, RUN_TIMEOUT_MS);
      await expectWholeAnswers(run);
    } finally {
      sampling = false;
      await sampler;
      await load.stop();
    }
    const stalls = await stalledOf(run.ids, run.startedAt);
    const renewalsMissed = workers.flatMap((worker) => worker.lines.filter((line) => line.includes('could not renew lock')));
    const { lost, duplicated } = await duplicatedJobs(cluster, baseUrl, run.ids);
    recordFigures('worker-loss-recovery-starved', {
      loadProcesses: LOAD_PROCESSES,
      jobs: JOBS,
      totalMs,
      noKillMsWithoutLoad: noKillMs,
      lowestLockMsLeft: lowestLockMs,
      stalledEvents: stalls.length,
      renewalsMissed: renewalsMissed.length,
      lost: lost.length,
      duplicated: duplicated.length,
    });

    expect(stalls).toEqual([]);
    expect(renewalsMissed).toEqual([]);
    expect(lost).toEqual([]);
    expect(duplicated).toEqual([]);
  });
});
