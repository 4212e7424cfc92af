/**
 * `npm run bench:cpu`: how much CPU each part of the system spends per job, under load.
 *
 * Starts its own redis-server and the system (from `dist/`, built first) with the default
 * settings, runs `BENCH_CPU_CLIENTS` (default 16) closed-loop clients of `POST /api/v1/generate`
 * (max_tokens `BENCH_CPU_TOKENS`, default 64, cache off) for `BENCH_CPU_MS` (default 8000) ms after
 * a one-second warm-up, and reads the CPU time (user + system, from /proc) that the API process, the
 * worker process (and each of its threads), Redis and the load generator used meanwhile. Prints it
 * as a share of one core and as milliseconds per finished job. Linux only.
 * Settings as for `npm run bench`: BENCH_MODEL, BENCH_LLAMA_THREADS.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { PROMPT } from './context.ts';
import { closedLoop } from './load/closed-loop.ts';
import { generateOnce, JsonClient } from './load/http-client.ts';
import { startToolStack } from './tool-stack.ts';

const clients = Number(process.env.BENCH_CPU_CLIENTS ?? 16);
const maxTokens = Number(process.env.BENCH_CPU_TOKENS ?? 64);
const durationMs = Number(process.env.BENCH_CPU_MS ?? 8000);
/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU time (ms) of a process, or of a task (thread) when `tid` is given. */
function cpuMs(pid: number, tid?: number): number {
  const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** CPU time of each thread of a process: its main thread, and the others by thread id. */
function threadCpuMs(pid: number): Map<string, number> {
  const threads = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    threads.set(tid === String(pid) ? 'main thread' : `thread ${tid}`, cpuMs(pid, Number(tid)));
  }
  return threads;
}

const { stack, model, redisPid, stop } = await startToolStack('cpu');
const { settings } = stack;
const client = new JsonClient(stack.baseUrl, stack.headers);
const body = { prompt: PROMPT, max_tokens: maxTokens, temperature: 0, cache: false };

try {
  await closedLoop(clients, 1000, () => generateOnce(client, body));
  const pids = { api: stack.api.child.pid, worker: stack.worker.child.pid, redis: redisPid, 'load generator': process.pid };
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid ?? 0)]));
  const threadsBefore = threadCpuMs(pids.worker ?? 0);
  const run = await closedLoop(clients, durationMs, () => generateOnce(client, body));
  const after = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid ?? 0)]));
  const threadsAfter = threadCpuMs(pids.worker ?? 0);

  const line = (name: string, ms: number) =>
    `${name.padEnd(28)} ${((ms / run.elapsedMs) * 100).toFixed(1).padStart(6)} % of a core  ${(ms / run.requests).toFixed(2).padStart(7)} ms/job`;
  console.log(
    `${model.id}; ${settings.poolThreads} pool thread(s) × ${settings.sequences} sequence(s); ${clients} clients, max_tokens ${maxTokens}; ` +
      `${os.availableParallelism()} cores\n${run.requests} jobs in ${Math.round(run.elapsedMs)} ms: ` +
      `${((run.requests * 1000) / run.elapsedMs).toFixed(1)} jobs/s, ${Math.round((run.tokens * 1000) / run.elapsedMs)} tokens/s\n`,
  );
  let total = 0;
  for (const name of Object.keys(pids)) {
    const used = (after[name] ?? 0) - (before[name] ?? 0);
    total += used;
    console.log(line(name, used));
    if (name === 'worker') {
      // Busiest first: piscina threads (JS of generation), libuv threads (llama.cpp decoding), the main thread.
      const threads = [...threadsAfter].map(([thread, ms]) => [thread, ms - (threadsBefore.get(thread) ?? 0)] as const);
      for (const [thread, used] of threads.sort((a, b) => b[1] - a[1]).filter(([, ms]) => ms > 0)) console.log(line(`  ${thread}`, used));
    }
  }
  console.log(line('all', total));
} finally {
  client.close();
  await stop();
}
