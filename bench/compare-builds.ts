/**
 * Two or more builds of the system side by side on one Redis, rounds interleaved: how a change
 * moves the hot path, under the same noise. Each directory is a checkout with `dist/` built.
 *
 *   BENCH_COMPARE=before:/tmp/a,after:/tmp/b [BENCH_LLAMA_THREADS=1] [BENCH_ROUNDS=6] npx tsx bench/compare-builds.ts
 *
 * Measures per build and round: p50 of 30 sequential 32-token requests, tokens/s of 4 clients
 * (64 tokens), jobs/s of 8 clients (max_tokens 1), cache-hit requests/s (autocannon, 16
 * connections); ratios are against the first build, per round. Writes `bench/results/compare-<date>-<threads>.json`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, LocalRedis } from '../core/local-redis.ts';
import { projectRoot } from '../core/paths.ts';
import { PROMPT } from './context.ts';
import { hammer } from './load/autocannon.ts';
import { closedLoop } from './load/closed-loop.ts';
import { generateOnce, JsonClient } from './load/http-client.ts';
import { figure, percentile, ratioFigure, type Figure } from './stats.ts';
import { formatFigure } from './report/format.ts';
import { BENCH_API_KEY } from './system.ts';
import { SHARED_TINY_MODEL } from '../core/model/model-naming.ts';

interface Build {
  name: string;
  dir: string;
  url: string;
  client: JsonClient;
  processes: ChildProcess[];
}

const headers = { authorization: `Bearer ${BENCH_API_KEY}` };

async function startRole(dir: string, role: 'api' | 'worker', env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(dir, 'dist', role, 'main.js')], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const ready = role === 'api' ? 'api listening' : 'worker ready';
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(ready)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${dir} ${role} exited (${code}): ${output.slice(-2000)}`)));
  });
  return child;
}

const builds = (process.env.BENCH_COMPARE ?? '').split(',').filter(Boolean).map((entry) => {
  const [name, dir] = entry.split(':');
  if (!name || !dir) throw new Error(`BENCH_COMPARE: "${entry}" is not <name>:<directory>`);
  return { name, dir: path.resolve(dir) };
});
if (builds.length < 2) throw new Error('BENCH_COMPARE needs at least two <name>:<directory> entries');
const rounds = Number(process.env.BENCH_ROUNDS || 6);
const modelsDir = mkdtempSync(path.join(os.tmpdir(), 'llmo-compare-'));

const redis = await LocalRedis.start();
const started: Build[] = [];
try {
  for (const { name, dir } of builds) {
    const port = await freePort();
    const env: Record<string, string> = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: `cmp-${name}`,
      MODEL: process.env.BENCH_MODEL || SHARED_TINY_MODEL,
      MODELS_DIR: modelsDir,
      HOST: '127.0.0.1',
      PORT: String(port),
      WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'info',
      API_KEYS: BENCH_API_KEY,
      RATE_LIMIT_REQUESTS: '1000000000',
      ...(process.env.BENCH_LLAMA_THREADS ? { LLAMA_THREADS: process.env.BENCH_LLAMA_THREADS } : {}),
    };
    const build: Build = { name, dir, url: `http://127.0.0.1:${port}`, client: new JsonClient(`http://127.0.0.1:${port}`, headers), processes: [] };
    started.push(build);
    build.processes.push(await startRole(dir, 'worker', env));
    build.processes.push(await startRole(dir, 'api', env));
  }

  const body = (maxTokens: number) => ({ prompt: PROMPT, max_tokens: maxTokens, temperature: 0, cache: false });
  const hit = { prompt: PROMPT, max_tokens: 32, temperature: 0 };
  const measures: Record<string, (b: Build) => Promise<number>> = {
    'latency p50, 32 tokens (ms)': async (b) => {
      const ms: number[] = [];
      for (let i = 0; i < 30; i++) ms.push((await generateOnce(b.client, body(32))).ms);
      return percentile(ms, 50);
    },
    'tokens/s, 4 clients, 64 tokens': async (b) => {
      const run = await closedLoop(4, 3000, () => generateOnce(b.client, body(64)));
      return (run.tokens * 1000) / run.elapsedMs;
    },
    'jobs/s, 8 clients, max_tokens 1': async (b) => {
      const run = await closedLoop(8, 3000, () => generateOnce(b.client, body(1)));
      return (run.requests * 1000) / run.elapsedMs;
    },
    'cache hits/s, 16 connections': async (b) => (await hammer(`${b.url}/api/v1/generate`, hit, headers, 16, 2000)).requestsPerSecond,
  };
  for (const b of started) {
    for (let i = 0; i < 10; i++) await generateOnce(b.client, body(32));
    await b.client.post('/api/v1/generate', hit);
  }
  const values: Record<string, Record<string, number[]>> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [metric, measure] of Object.entries(measures)) {
      for (let k = 0; k < started.length; k++) {
        const b = started[(round + k) % started.length] as Build;
        ((values[metric] ??= {})[b.name] ??= []).push(await measure(b));
      }
    }
    process.stderr.write(`round ${round + 1}/${rounds}\n`);
  }
  const first = started[0]?.name ?? '';
  const table: Record<string, Record<string, { figure: Figure; ratio?: Figure }>> = {};
  for (const [metric, byBuild] of Object.entries(values)) {
    const reference = figure(byBuild[first] ?? []);
    for (const b of started) {
      const f = figure(byBuild[b.name] ?? []);
      (table[metric] ??= {})[b.name] = b.name === first ? { figure: f } : { figure: f, ratio: ratioFigure(f, reference) };
    }
  }
  for (const [metric, byBuild] of Object.entries(table)) {
    const cells = Object.entries(byBuild).map(
      ([name, { figure: f, ratio }]) => `${name} ${formatFigure(f, 'ms')}${ratio ? ` (×${formatFigure(ratio, 'ms')})` : ''}`,
    );
    process.stdout.write(`${metric.padEnd(34)} ${cells.join(' | ')}\n`);
  }
  const threads = process.env.BENCH_LLAMA_THREADS ? `llama-threads-${process.env.BENCH_LLAMA_THREADS}` : 'default-threads';
  const out = path.join(projectRoot, 'bench', 'results', `compare-${new Date().toISOString().slice(0, 10)}-${threads}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), builds, llamaThreads: process.env.BENCH_LLAMA_THREADS ?? 'default', rounds, table }, null, 2)}\n`);
  process.stdout.write(`Wrote ${out}\n`);
} finally {
  for (const b of started) {
    b.client.close();
    for (const child of b.processes) child.kill('SIGTERM');
  }
  await Promise.all(started.flatMap((b) => b.processes.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined))));
  await redis.stop();
  rmSync(modelsDir, { recursive: true, force: true });
}
