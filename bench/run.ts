import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../core/config.ts';
import { LocalRedis } from '../core/local-redis.ts';
import { planInference, SMALL_MODEL_BYTES } from '../core/model/inference-plan.ts';
import { projectRoot } from '../core/paths.ts';
import { BaselineProcess } from './baselines/child.ts';
import type { LlamaCommand } from './baselines/llama-protocol.ts';
import { PROMPT, type BenchContext } from './context.ts';
import { generateOnce, JsonClient } from './load/http-client.ts';
import { machineFacts } from './machine.ts';
import { resolveBenchModel } from './model.ts';
import { MODEL_PAIRS, type BenchOptions } from './options.ts';
import { cacheHits } from './pairs/cache-hits.ts';
import { int8 } from './pairs/int8.ts';
import { memoryTable } from './pairs/memory.ts';
import { queueOverhead } from './pairs/queue-overhead.ts';
import { settingsTable } from './pairs/settings.ts';
import { singleLatency } from './pairs/single-latency.ts';
import { throughput, THROUGHPUT_MAX_TOKENS } from './pairs/throughput.ts';
import { consoleReport } from './report/console-table.ts';
import { renderChart } from './report/chart.ts';
import { markdownReport } from './report/markdown.ts';
import type { BenchResults, ModelRun, PairResult } from './results.ts';
import { memoryOf, startStack, type StackSettings, type SystemStack } from './system.ts';

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

/** Per-token time above which a model's durations are scaled (a token of stories260K takes about 0.5 ms). */
const SCALE_ABOVE_MS_PER_TOKEN = 2;

/**
 * The options as they apply to one model. A large model's token costs tens of milliseconds: its
 * phases last long enough for several requests per client, its latency pair sends as many requests
 * as fit in a few seconds, and it runs fewer rounds and client counts, so the whole bench stays
 * within minutes.
 */
export function scaledOptions(options: BenchOptions, msPerToken: number, large: boolean): BenchOptions {
  if (msPerToken <= SCALE_ABOVE_MS_PER_TOKEN && !large) return options;
  const requestMs = THROUGHPUT_MAX_TOKENS * msPerToken;
  const clients = options.clients.filter((c) => c <= 4);
  return {
    ...options,
    rounds: Math.min(options.rounds, 3),
    durationMs: Math.max(options.durationMs, Math.min(20_000, Math.ceil(4 * requestMs))),
    latencyRequests: Math.max(3, Math.min(options.latencyRequests, Math.round(8000 / (requestMs / 2)))),
    clients: clients.length > 0 ? clients : [1],
    settings: options.largeSettings,
  };
}

interface RunShared {
  redisUrl: string;
  /** The llama.cpp release the baseline reports. */
  release?: string;
  spawned(pid: number | undefined, name: string): void;
  log(message: string): void;
}

/** Every pair of `pairs` on one model, with its own stacks and baseline, all stopped at the end. */
async function runModel(options: BenchOptions, index: number, pairsWanted: number[], shared: RunShared): Promise<ModelRun> {
  const { log, spawned } = shared;
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'llmo-bench-'));
  const stacks: SystemStack[] = [];
  let llama: BaselineProcess<LlamaCommand> | undefined;
  try {
    const setting = options.models[index] ?? '';
    log(`model ${index + 1}/${options.models.length}: ${setting}`);
    const model = await resolveBenchModel(setting, workDir, options.modelsDir);
    const defaults = loadConfig({});
    const plan = planInference(model.facts, { LLAMA_THREADS: options.llamaThreads, CONTEXT_SIZE: defaults.CONTEXT_SIZE });
    const large = model.sizeBytes >= SMALL_MODEL_BYTES;
    const settings: StackSettings = {
      poolThreads: plan.poolThreads,
      contexts: plan.contextsPerThread,
      sequences: plan.sequencesPerThread,
      llamaThreads: plan.llamaThreads,
      systemDefault: { llamaThreads: options.llamaThreads },
    };
    log(`starting the system and the node-llama-cpp baseline (${model.id}; ${plan.reason})`);
    const launch = async (name: string, s: StackSettings) => {
      const stack = await startStack(`m${index + 1}-${name}`, s, { redisUrl: shared.redisUrl, model: model.env.MODEL ?? model.served, fromSources: options.fromSources, env: model.env });
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
    const stack = await launch('default', settings);
    llama = await startBaseline<LlamaCommand>('./llama-baseline.ts', {
      BENCH_MODEL_PATH: model.served,
      BENCH_CONTEXTS: String(plan.poolThreads * plan.contextsPerThread),
      BENCH_SEQUENCES: String(plan.sequencesPerThread),
      BENCH_THREADS: String(plan.llamaThreads),
      BENCH_CONTEXT_SIZE: String(defaults.CONTEXT_SIZE),
    });
    shared.release ??= (llama.info.llamaCppRelease as { release?: string } | undefined)?.release;

    const warm = new JsonClient(stack.baseUrl, stack.headers);
    const perToken: number[] = [];
    for (let i = 0; i < 3; i++) {
      const result = await generateOnce(warm, { prompt: PROMPT, max_tokens: 32, temperature: 0, cache: false });
      perToken.push(result.ms / Math.max(1, result.tokens));
    }
    warm.close();
    const msPerToken = Math.min(...perToken);
    const scaled = scaledOptions(options, msPerToken, large);
    if (scaled !== options) log(`${msPerToken.toFixed(1)} ms per token: ${scaled.rounds} rounds of ${scaled.durationMs} ms, clients ${scaled.clients.join(',')}`);
    await new Promise((r) => setTimeout(r, 500));
    const idleBefore = { api: memoryOf(stack.api.child.pid), worker: memoryOf(stack.worker.child.pid) };

    const ctx: BenchContext = { options: scaled, model, large, redisUrl: shared.redisUrl, stack, llama, log, startStack: launch, startBaseline };
    const pairs: PairResult[] = [];
    const wanted = (id: number, title: string) => {
      if (pairsWanted.includes(id)) {
        log(`pair ${id}: ${title}`);
        return true;
      }
      const why = options.pairs.includes(id) ? 'measured on the first model only (it does not depend on the model\'s size)' : 'not selected (BENCH_PAIRS)';
      pairs.push(skipped(id, title, why));
      return false;
    };
    if (wanted(1, 'Single request latency')) pairs.push(await singleLatency(ctx));
    const load = wanted(2, 'Throughput under load') ? await throughput(ctx) : undefined;
    if (load) pairs.push(load.pair);
    if (wanted(3, 'Queue overhead')) pairs.push(await queueOverhead(ctx));
    const hits = wanted(4, 'Cache hits') ? await cacheHits(ctx) : undefined;
    if (hits) pairs.push(hits.pair);
    await new Promise((r) => setTimeout(r, 1000));
    const idleAfter = { api: memoryOf(stack.api.child.pid), worker: memoryOf(stack.worker.child.pid) };
    if (wanted(5, 'Thread/sequence settings')) pairs.push(await settingsTable(ctx));
    if (wanted(6, 'INT8 (Q8_0 vs F32)')) {
      pairs.push(await int8(ctx, model, { contexts: plan.poolThreads * plan.contextsPerThread, sequences: plan.sequencesPerThread, threads: plan.llamaThreads, contextSize: defaults.CONTEXT_SIZE }));
    }
    if (pairsWanted.includes(7) && load) {
      const samples = { idleBefore, idleAfter, generateLoad: load.peaks, ...(hits ? { cacheHitLoad: hits.apiPeaks } : {}) };
      pairs.push(memoryTable(samples, Math.max(...scaled.clients), large));
    } else {
      pairs.push(skipped(7, 'Memory (RSS and PSS)', pairsWanted.includes(7) ? 'needs pair 2' : 'not selected (BENCH_PAIRS)'));
    }
    pairs.sort((a, b) => a.id - b.id);
    return {
      model: {
        setting: setting.toLowerCase().startsWith('synth:') ? setting : path.relative(projectRoot, path.resolve(setting)),
        id: model.id,
        servedBytes: model.sizeBytes,
        served: model.quantizedFrom ? 'the Q8_0 copy the system makes of it (USE_INT8), on both sides' : 'the file as is, on both sides',
        parameters: model.facts.parameters,
        randomWeights: model.facts.randomWeights,
      },
      settings: {
        rounds: scaled.rounds,
        durationMs: scaled.durationMs,
        clients: scaled.clients,
        msPerToken: Math.round(msPerToken * 100) / 100,
        poolThreads: plan.poolThreads,
        contextsPerThread: plan.contextsPerThread,
        sequencesPerThread: plan.sequencesPerThread,
        llamaThreads: plan.llamaThreads,
        defaultsChosen: plan.reason,
        source: options.fromSources ? 'sources (tsx)' : 'dist',
      },
      pairs,
    };
  } finally {
    await llama?.stop();
    for (const stack of stacks) await stack.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Runs every pair on every model and stops everything it started, whatever happens. */
export async function runBench(options: BenchOptions, hooks: BenchHooks = {}): Promise<BenchResults> {
  const log = hooks.log ?? (() => undefined);
  const spawned = (pid: number | undefined, name: string) => {
    if (pid !== undefined) hooks.onSpawn?.(pid, name);
  };
  const startedAt = new Date();
  const loadBefore = os.loadavg().map((n) => Math.round(n * 100) / 100);
  if (!options.fromSources && !options.skipBuild) build(log);

  log('starting redis-server');
  const redis = await LocalRedis.start();
  spawned(redis.pid, 'redis-server');
  const runs: ModelRun[] = [];
  const shared: RunShared = { redisUrl: redis.url, spawned, log };
  try {
    for (let index = 0; index < options.models.length; index++) {
      const pairsWanted = index === 0 ? options.pairs : options.pairs.filter((p) => MODEL_PAIRS.includes(p));
      runs.push(await runModel(options, index, pairsWanted, shared));
    }
  } finally {
    log('stopping');
    await redis.stop();
  }
  const finishedAt = new Date();
  return {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationS: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    machine: machineFacts(`bundled with node-llama-cpp (prebuilt CPU binary, release tag ${shared.release ?? 'unknown'})`, loadBefore),
    runs,
  };
}

/** Writes `<outDir>/<date>.json` and the markdown report; returns the console tables. */
export function writeResults(results: BenchResults, options: BenchOptions): { json: string; docs: string; chart: string; table: string } {
  const outDir = path.resolve(projectRoot, options.outDir);
  mkdirSync(outDir, { recursive: true });
  const json = path.join(outDir, `${results.startedAt.slice(0, 10)}.json`);
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  const findings = readFileSync(path.join(projectRoot, 'bench', 'findings.md'), 'utf8');
  const docs = path.resolve(projectRoot, options.docsPath);
  mkdirSync(path.dirname(docs), { recursive: true });
  const chart = docs.replace(/\.md$/i, '') + '.svg';
  writeFileSync(chart, renderChart(results));
  writeFileSync(docs, markdownReport(results, findings, path.basename(chart)));
  return { json, docs, chart, table: consoleReport(results) };
}
