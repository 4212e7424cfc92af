import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_TINY_MODEL } from '../../core/model/model-naming.ts';
import { benchOptionsFromEnv } from '../../bench/options.ts';
import type { BenchResults } from '../../bench/results.ts';
import { runBench, writeResults } from '../../bench/run.ts';

// A smoke run: one short round of every pair on stories260K, and of the model-size pairs on a
// random-weight model made by `synth:`, from sources, one llama.cpp thread. No timing is asserted.
describe('npm run bench (one short round)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-bench-test-'));
  const options = benchOptionsFromEnv({
    BENCH_MODEL: `${SHARED_TINY_MODEL},synth:micro`,
    MODELS_DIR: path.join(dir, 'models'),
    BENCH_FROM_SOURCES: '1',
    BENCH_ROUNDS: '1',
    BENCH_DURATION_MS: '300',
    BENCH_LATENCY_REQUESTS: '3',
    BENCH_CLIENTS: '1,2',
    BENCH_SETTINGS: '1x1',
    BENCH_QUEUE_CLIENTS: '2',
    BENCH_CONNECTIONS: '2',
    BENCH_LLAMA_THREADS: '1',
    BENCH_OUT_DIR: dir,
    BENCH_DOCS: path.join(dir, 'benchmarks.md'),
  });
  const pids: number[] = [];
  let results: BenchResults;
  let written: ReturnType<typeof writeResults>;

  beforeAll(async () => {
    results = await runBench(options, { onSpawn: (pid) => pids.push(pid) });
    written = writeResults(results, options);
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const first = () => results.runs[0]!;

  it('runs every pair on the first model and the model-size pairs on the synth: model', () => {
    expect(results.runs.map((r) => r.model.id)).toEqual(['stories260K:Q8_0', 'synth-micro:Q8_0']);
    expect(results.runs.map((r) => r.model.randomWeights)).toEqual([false, true]);
    for (const run of results.runs) expect(run.pairs.map((p) => p.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(first().pairs.every((p) => p.available)).toBe(true);
    expect(results.runs[1]?.pairs.filter((p) => p.available).map((p) => p.id)).toEqual([1, 2, 5, 7]);
  });

  it('measures a positive figure on both sides of every comparison it could run', () => {
    for (const pair of results.runs.flatMap((r) => r.pairs).filter((p) => p.available)) {
      expect(pair.rows.length, `pair ${pair.id}`).toBeGreaterThan(0);
      for (const row of pair.rows) {
        const what = `pair ${pair.id} ${row.metric}`;
        if (row.a) expect(row.a.median, what).toBeGreaterThan(0);
        // A row that compares has both sides (pair 7 also lists the system's own processes alone).
        if (row.a && pair.columns.b && row.compare) expect(row.b?.median, what).toBeGreaterThan(0);
        if (row.compare) expect(Number.isFinite(row.compare.figure.median), what).toBe(true);
        expect(row.a ?? row.compare, what).toBeDefined();
      }
    }
  });

  it('runs the throughput pair once per client count and the settings pair once per setting', () => {
    const pool = Number(first().settings.poolThreads);
    const sequences = Number(first().settings.sequencesPerThread);
    const rows = first().pairs[4]?.rows.map((r) => r.metric) ?? [];
    // On a machine busy with other work, stories260K's tokens can measure slower than the 2 ms
    // above which the bench scales a model as a slow one: it then runs the large models' settings.
    if (Number(first().settings.msPerToken) > 2) {
      expect(first().pairs[1]?.rows.map((r) => r.metric)).toEqual(['1 client', '2 clients']);
      expect(rows).toHaveLength(5);
      expect(rows.filter((metric) => metric.endsWith('(default)'))).toEqual([`${pool}×${sequences}, 1 llama.cpp thread (default)`]);
      return;
    }
    expect(first().pairs[1]?.rows.map((r) => r.metric)).toEqual(['1 client', '2 clients']);
    // The system's default settings (chosen from the model) come first when the list does not hold them.
    expect(rows).toEqual(
      pool === 1 && sequences === 1
        ? ['1×1, 1 llama.cpp thread (default)']
        : [`${pool}×${sequences}, 1 llama.cpp thread (default)`, '1×1, 1 llama.cpp thread'],
    );
  });

  it('checks every target with a measured value', () => {
    const targets = first().pairs.flatMap((p) => p.targets);
    expect(targets.map((t) => t.target)).toEqual([
      'overhead ≤ 5 ms p50',
      'tokens/s ≥ 90% of bare (1 client)',
      'tokens/s ≥ 90% of bare (2 clients)',
      'max_tokens 1: jobs/s ≥ 50% of the engine alone',
      'requests/s ≥ 60% of bare Express',
      'defaults ≥ 95% of the best setting',
    ]);
    for (const target of results.runs.flatMap((r) => r.pairs.flatMap((p) => p.targets))) {
      expect(Number.isFinite(target.value), target.target).toBe(true);
      expect(target.met).toBe(target.better === 'higher' ? target.value >= target.threshold : target.value <= target.threshold);
    }
  });

  it('writes the JSON results and the markdown report with the machine facts', () => {
    const json = JSON.parse(readFileSync(written.json, 'utf8')) as BenchResults;
    expect(json.runs).toHaveLength(2);
    expect(json.machine.cores).toBeGreaterThan(0);
    const markdown = readFileSync(written.docs, 'utf8');
    expect(markdown).toContain('## Machine');
    expect(markdown).toContain(json.machine.cpuModel);
    expect(markdown).toContain('## Side by side');
    expect(markdown).toContain('#### 7. Memory (RSS and PSS)');
    expect(markdown).toContain(`![Ratio to the baseline per target and model](${path.basename(written.chart)})`);
    expect(written.table).toContain('Single request latency');
  });

  it('reports PSS of the worker next to the bare engine', () => {
    const memory = first().pairs.find((p) => p.id === 7)!;
    const pss = memory.rows.find((r) => r.metric.startsWith('worker PSS, peak'))!;
    expect(pss.a?.median).toBeGreaterThan(0);
    expect(pss.b?.median).toBeGreaterThan(0);
  });

  it('draws every percentage target of both models in the chart', () => {
    const svg = readFileSync(written.chart, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    const bars = results.runs.flatMap((r) => r.pairs.flatMap((p) => p.targets)).filter((t) => t.unit === '%');
    expect(bars.length).toBeGreaterThan(4);
    expect(svg.match(/% \((≥|≤)[\d.]+%\) (met|missed)</g)).toHaveLength(bars.length);
  });

  it('stops every process it started', () => {
    expect(pids.length).toBeGreaterThanOrEqual(6);
    for (const pid of pids) expect(isRunning(pid), `pid ${pid}`).toBe(false);
  });
});

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
