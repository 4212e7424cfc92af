import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoleProcess } from '../support/processes.ts';
import { ChaosCluster, recordFigures, request, sleep } from './support/cluster.ts';

const JOBS = 200;
const KILLS = 3;

/** Reads the fields of a Redis Stream entry list into objects. */
const entries = (raw: Array<[string, string[]]>) =>
  raw.map(([, fields]) => Object.fromEntries(fields.reduce<string[][]>((pairs, v, i) => (i % 2 ? pairs : [...pairs, [v, fields[i + 1] ?? '']]), [])));

describe('workers killed with SIGKILL mid-run', () => {
  let cluster: ChaosCluster;
  let baseUrl: string;
  const workers: RoleProcess[] = [];

  beforeAll(async () => {
    // Production's lock settings (JOB_LOCK_MS 5 s): a killed worker's jobs are taken over in seconds.
    cluster = await ChaosCluster.start({ CACHE_TTL_SECONDS: '0' });
    ({ baseUrl } = await cluster.startApi());
    workers.push(...(await Promise.all([cluster.startWorker(), cluster.startWorker()])));
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it(`completes all ${JOBS} accepted jobs exactly once through ${KILLS} kills`, async () => {
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i += 1) {
      const response = await request(baseUrl, 'POST', '/api/v1/jobs', { body: { prompt: `Once upon a time, story ${i}`, max_tokens: 96, cache: false } });
      expect(response.status).toBe(202);
      ids.push(response.body.id);
    }

    const completedCount = () => cluster.redis.zcard(`${cluster.queueKey}:completed`);
    /** Jobs active right now on a worker, by the worker name BullMQ records on the job (`pb`). */
    const activeOn = async (proc: RoleProcess) => {
      const active = await cluster.redis.lrange(`${cluster.queueKey}:active`, 0, -1);
      const owners = await Promise.all(active.map((id) => cluster.redis.hget(`${cluster.queueKey}:${id}`, 'pb')));
      return active.filter((_, i) => owners[i]?.includes(`:${proc.child.pid}:`));
    };

    /** Job id → pid of the worker that was running it when that worker was killed. */
    const runningAtKill = new Map<string, number>();
    const killedPids: number[] = [];
    const replacements: Promise<void>[] = [];
    for (let kill = 1; kill <= KILLS; kill += 1) {
      // Spread the kills over the run: the k-th once k/(KILLS+1) of the jobs are done.
      const target = Math.floor((kill * JOBS) / (KILLS + 1.5));
      while ((await completedCount()) < target) await sleep(50);
      let victim: RoleProcess | undefined;
      let running: string[] = [];
      const pickBy = Date.now() + 30_000;
      while (!victim && Date.now() < pickBy) {
        const candidate = workers[Math.floor(Math.random() * workers.length)];
        running = candidate ? await activeOn(candidate) : [];
        if (candidate && running.length > 0) victim = candidate;
        else await sleep(5);
      }
      if (!victim) throw new Error('no worker had an active job to interrupt');
      victim.kill('SIGKILL');
      await victim.exited;
      killedPids.push(victim.child.pid ?? -1);
      for (const id of running) runningAtKill.set(id, victim.child.pid ?? -1);
      // Its supervisor (Docker's restart policy, systemd) would start it again: so does the test,
      // in the background, as a supervisor does; a slow start must not hold up the next kill while
      // the surviving worker finishes the remaining jobs.
      workers.splice(workers.indexOf(victim), 1);
      replacements.push(cluster.startWorker().then((worker) => void workers.push(worker)));
    }
    await Promise.all(replacements);

    const deadline = Date.now() + 180_000;
    while ((await completedCount()) < JOBS && Date.now() < deadline) await sleep(200);

    // What a client sees: every accepted job completed, with its text.
    const views = await Promise.all(ids.map(async (id) => (await request(baseUrl, 'GET', `/api/v1/jobs/${id}`)).body));
    const completed = views.filter((view) => view.status === 'completed' && typeof view.result?.text === 'string');
    const lost = ids.length - completed.length;

    // Duplicates: a job completed more than once (BullMQ's event log), or a token stream that
    // replays a killed attempt's text in front of the final one.
    const events = entries(await cluster.redis.xrange(`${cluster.queueKey}:events`, '-', '+'));
    expect(events.length).toBeLessThan(10_000); // the event log was not trimmed: every event is counted
    const completions = new Map<string, number>();
    const stalls = new Map<string, number>();
    for (const event of events) {
      if (event.event === 'completed') completions.set(event.jobId!, (completions.get(event.jobId!) ?? 0) + 1);
      if (event.event === 'stalled') stalls.set(event.jobId!, (stalls.get(event.jobId!) ?? 0) + 1);
    }
    const completedTwice = ids.filter((id) => (completions.get(id) ?? 0) > 1);
    const duplicatedStreams: string[] = [];
    const streamProblems: string[] = [];
    for (const view of completed) {
      const stream = entries(await cluster.redis.xrange(`${cluster.prefix}:stream:${view.id}`, '-', '+'));
      const starts = stream.filter((e) => e.type === 'start').length;
      const ends = stream.filter((e) => e.type === 'end').length;
      const text = stream.filter((e) => e.type === 'token').map((e) => e.text).join('');
      if (starts !== 1 || ends !== 1 || text !== view.result.text) {
        // What the stream holds, to tell a replayed attempt from a missing ending or a text mismatch.
        const job = await cluster.redis.hmget(`${cluster.queueKey}:${view.id}`, 'ats', 'stc', 'pb');
        streamProblems.push(
          `${view.id} (attempts started ${job[0]}, stalls ${job[1]}, completed by ${job[2]}): ` +
            `${JSON.stringify(stream.map((e) => (e.type === 'token' ? e.text : `<${e.type}${e.attempt ? ` ${e.attempt}` : ''}>`)))} ` +
            `vs result ${JSON.stringify(view.result.text)}`,
        );
        duplicatedStreams.push(view.id);
      }
    }
    // A job whose completion reached Redis in the instant before the kill was not interrupted:
    // the interrupted ones are those that another worker finished.
    const finishers = await Promise.all([...runningAtKill.keys()].map((id) => cluster.redis.hget(`${cluster.queueKey}:${id}`, 'pb')));
    const interrupted = [...runningAtKill.entries()].filter(([, pid], i) => !finishers[i]?.includes(`:${pid}:`)).map(([id]) => id);
    const retaken = interrupted.filter((id) => (stalls.get(id) ?? 0) > 0);

    recordFigures('worker-kill', {
      jobsSent: JOBS,
      accepted: ids.length,
      completed: completed.length,
      lost,
      duplicated: new Set([...completedTwice, ...duplicatedStreams]).size,
      kills: killedPids.length,
      jobsInterruptedByKills: interrupted.length,
      interruptedJobsRetakenAndCompleted: retaken.filter((id) => completed.some((v) => v.id === id)).length,
      stalledEvents: [...stalls.values()].reduce((a, b) => a + b, 0),
    });

    expect(killedPids).toHaveLength(KILLS);
    expect(completed).toHaveLength(JOBS);
    expect(lost).toBe(0);
    expect(completedTwice).toEqual([]);
    expect(duplicatedStreams, streamProblems.join('\n')).toEqual([]);
    expect(new Set(ids).size).toBe(JOBS);
    // Every kill interrupted running jobs, and each of those was taken over and completed.
    expect(interrupted.length).toBeGreaterThanOrEqual(KILLS);
    expect(retaken.sort()).toEqual([...interrupted].sort());
    for (const id of interrupted) {
      const view = completed.find((v) => v.id === id);
      expect(view?.status, id).toBe('completed');
    }
  });
});
