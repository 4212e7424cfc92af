import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { llamaThreadsPerPoolThread, loadConfig } from '../core/config.ts';
import { LocalRedis } from '../core/local-redis.ts';
import { projectRoot } from '../core/paths.ts';
import { BaselineProcess } from './baselines/child.ts';
import type { LlamaCommand } from './baselines/llama-protocol.ts';
import { PROMPT, type BenchContext } from './context.ts';
import { generateOnce, JsonClient } from './load/http-client.ts';
import { machineFacts } from './machine.ts';
import { resolveBenchModel } from './model.ts';
import type { BenchOptions } from './options.ts';
import { cacheHits } from './pairs/cache-hits.ts';
import { int8 } from './pairs/int8.ts';
import { memoryTable } from './pairs/memory.ts';
import { queueOverhead } from './pairs/queue-overhead.ts';
import { settingsTable } from './pairs/settings.ts';
import { singleLatency } from './pairs/single-latency.ts';
import { throughput } from './pairs/throughput.ts';
import { consoleReport } from './report/console-table.ts';
import { markdownReport } from './report/markdown.ts';
import type { BenchResults, PairResult } from './results.ts';
import { rssBytes, startStack, type StackSettings, type SystemStack } from './system.ts';

const skipped = (id: number, title: string, why = 'not selected (BENCH_PAIRS)'): PairResult => ({
  id,
  title,
  columns: { a: '' },
  available: false,
  rows: [],
  targets: [],
  notes: [`Not run: ${why}.`],
});

/** `npm run build`, so that the bench measures what production runs. */
export function build(log: (m: string) => void): void {
  log('building (npm run build)');
  const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: projectRoot, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`npm run build failed (exit ${result.status})`);
}

export interface BenchHooks {
  log?(message: string): void;
  /** Every process the bench starts (redis-server, roles, baselines), as it starts. */
  onSpawn?(pid: number, name: string): void;
}

/** Runs every pair and stops everything it started, whatever happens. */
export async function runBench(options: BenchOptions, hooks: BenchHooks = {}): Promise<BenchResults> {
  const log = hooks.log ?? (() => undefined);
  const spawned = (pid: number | undefined, name: string) => {
    if (pid !== undefined) hooks.onSpawn?.(pid, name);
  };
  const startedAt = new Date();
  const loadBefore = os.loadavg().map((n) => Math.round(n * 100) / 100);
  if (!options.fromSources && !options.skipBuild) build(log);

  const defaults = loadConfig({});
  const settings = { poolThreads: defaults.POOL_THREADS, sequences: defaults.SEQUENCES_PER_THREAD, llamaThreads: options.llamaThreads };
  const llamaThreads = options.llamaThreads ?? llamaThreadsPerPoolThread(defaults);
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'llmo-bench-'));
  const model = await resolveBenchModel(path.resolve(options.model), workDir);
  const modelPath = model.served;

  log(`starting redis-server, the system and the node-llama-cpp baseline (model ${model.id})`);
  const redis = await LocalRedis.start();
  spawned(redis.pid, 'redis-server');
  const stacks: SystemStack[] = [];
  let llama: BaselineProcess<LlamaCommand> | undefined;
  const launch = async (name: string, s: StackSettings) => {
    const stack = await startStack(name, s, { redisUrl: redis.url, model: modelPath, fromSources: options.fromSources, env: model.env });
    stacks.push(stack);
    spawned(stack.api.child.pid, `api ${name}`);
    spawned(stack.worker.child.pid, `worker ${name}`);
    return stack;
  };
  const startBaseline = async <C>(file: string, env: Record<string, string>) => {
    const baseline = await BaselineProcess.start<C>(file, env);
    spawned(baseline.pid, file);
    return baseline;
  };
  try {
    const stack = await launch('default', settings);
    llama = await startBaseline<LlamaCommand>('./llama-baseline.ts', {
      BENCH_MODEL_PATH: modelPath,
      BENCH_CONTEXTS: String(settings.poolThreads),
      BENCH_SEQUENCES: String(settings.sequences),
      BENCH_THREADS: String(llamaThreads),
      BENCH_CONTEXT_SIZE: String(defaults.CONTEXT_SIZE),
    });
    const ctx: BenchContext = {
      options,
      redisUrl: redis.url,
      stack,
      llama,
      log,
      startStack: launch,
      startBaseline,
    };

    const warm = new JsonClient(stack.baseUrl, stack.headers);
    for (let i = 0; i < 3; i++) await generateOnce(warm, { prompt: PROMPT, max_tokens: 32, temperature: 0, cache: false });
    warm.close();
    await new Promise((r) => setTimeout(r, 500));
    const idleBefore = { api: rssBytes(stack.api.child.pid), worker: rssBytes(stack.worker.child.pid) };

    const pairs: PairResult[] = [];
    const wanted = (id: number, title: string) => {
      if (options.pairs.includes(id)) {
        log(`pair ${id}: ${title}`);
        return true;
      }
      pairs.push(skipped(id, title));
      return false;
    };
    if (wanted(1, 'Single request latency')) pairs.push(await singleLatency(ctx));
    const load = wanted(2, 'Throughput under load') ? await throughput(ctx) : undefined;
    if (load) pairs.push(load.pair);
    if (wanted(3, 'Queue overhead')) pairs.push(await queueOverhead(ctx));
    const hits = wanted(4, 'Cache hits') ? await cacheHits(ctx) : undefined;
    if (hits) pairs.push(hits.pair);
    await new Promise((r) => setTimeout(r, 1000));
    const idleAfter = { api: rssBytes(stack.api.child.pid), worker: rssBytes(stack.worker.child.pid) };
    if (wanted(5, 'Thread/sequence settings')) pairs.push(await settingsTable(ctx));
    if (wanted(6, 'INT8 (Q8_0 vs F32)')) {
      pairs.push(await int8(ctx, model, { contexts: settings.poolThreads, sequences: settings.sequences, threads: llamaThreads, contextSize: defaults.CONTEXT_SIZE }));
    }
    if (options.pairs.includes(7) && load && hits) {
      pairs.push(memoryTable({ idleBefore, idleAfter, generateLoad: load.peaks, cacheHitLoad: hits.apiPeaks }, Math.max(...options.clients)));
    } else {
      pairs.push(skipped(7, 'Memory (RSS)', 'needs pairs 2 and 4'));
    }
    pairs.sort((a, b) => a.id - b.id);

    const release = llama.info.llamaCppRelease as { release?: string } | undefined;
    const finishedAt = new Date();
    return {
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationS: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      machine: machineFacts(`bundled with node-llama-cpp (prebuilt CPU binary, release tag ${release?.release ?? 'unknown'})`, loadBefore),
      model: {
        setting: path.relative(projectRoot, path.resolve(options.model)),
        id: model.id,
        servedBytes: model.sizeBytes,
        served: model.quantizedFrom ? 'the Q8_0 copy the system makes of it (USE_INT8), on both sides' : 'the file as is, on both sides',
      },
      settings: {
        rounds: options.rounds,
        durationMs: options.durationMs,
        poolThreads: settings.poolThreads,
        sequencesPerThread: settings.sequences,
        llamaThreads,
        source: options.fromSources ? 'sources (tsx)' : 'dist',
      },
      pairs,
    };
  } finally {
    log('stopping');
    await llama?.stop();
    for (const stack of stacks) await stack.stop();
    await redis.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Writes `<outDir>/<date>.json` and the markdown report; returns the console tables. */
export function writeResults(results: BenchResults, options: BenchOptions): { json: string; docs: string; table: string } {
  const outDir = path.resolve(projectRoot, options.outDir);
  mkdirSync(outDir, { recursive: true });
  const json = path.join(outDir, `${results.startedAt.slice(0, 10)}.json`);
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  const findings = readFileSync(path.join(projectRoot, 'bench', 'findings.md'), 'utf8');
  const docs = path.resolve(projectRoot, options.docsPath);
  mkdirSync(path.dirname(docs), { recursive: true });
  writeFileSync(docs, markdownReport(results, findings));
  return { json, docs, table: consoleReport(results) };
}
