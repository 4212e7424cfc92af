import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.ts';
import { benchOptionsFromEnv } from '../../bench/options.ts';
import type { BenchResults } from '../../bench/results.ts';
import { runBench, writeResults } from '../../bench/run.ts';

// A smoke run: one short round of every pair, from sources, one llama.cpp thread. No timing is asserted.
describe('npm run bench (one short round)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-bench-test-'));
  const options = benchOptionsFromEnv({
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

  it('reports all seven pairs in order', () => {
    expect(results.pairs.map((p) => p.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('measures a positive figure on both sides of every comparison it could run', () => {
    for (const pair of results.pairs.filter((p) => p.available)) {
      expect(pair.rows.length, `pair ${pair.id}`).toBeGreaterThan(0);
      for (const row of pair.rows) {
        const what = `pair ${pair.id} ${row.metric}`;
        if (row.a) expect(row.a.median, what).toBeGreaterThan(0);
        if (row.a && pair.columns.b) expect(row.b?.median, what).toBeGreaterThan(0);
        if (row.compare) expect(Number.isFinite(row.compare.figure.median), what).toBe(true);
        expect(row.a ?? row.compare, what).toBeDefined();
      }
    }
  });

  it('runs the throughput pair once per client count and the settings pair once per setting', () => {
    expect(results.pairs[1]?.rows.map((r) => r.metric)).toEqual(['1 client', '2 clients']);
    // The system's default settings come first when the list does not hold them.
    const { POOL_THREADS: pool, SEQUENCES_PER_THREAD: sequences } = loadConfig({});
    expect(results.pairs[4]?.rows.map((r) => r.metric)).toEqual(
      pool === 1 && sequences === 1
        ? ['1×1, 1 llama.cpp thread (default)']
        : [`${pool}×${sequences}, 1 llama.cpp thread (default)`, '1×1, 1 llama.cpp thread'],
    );
  });

  it('checks every target with a measured value', () => {
    const targets = results.pairs.flatMap((p) => p.targets);
    expect(targets.map((t) => t.target)).toEqual([
      'overhead ≤ 5 ms p50',
      'tokens/s ≥ 90% of bare (1 client)',
      'tokens/s ≥ 90% of bare (2 clients)',
      'jobs/s ≥ 50% of bare BullMQ',
      'requests/s ≥ 50% of bare Express',
    ]);
    for (const target of targets) expect(Number.isFinite(target.value)).toBe(true);
  });

  it('writes the JSON results and the markdown report with the machine facts', () => {
    const json = JSON.parse(readFileSync(written.json, 'utf8')) as BenchResults;
    expect(json.pairs).toHaveLength(7);
    expect(json.machine.cores).toBeGreaterThan(0);
    const markdown = readFileSync(written.docs, 'utf8');
    expect(markdown).toContain('## Machine');
    expect(markdown).toContain(json.machine.cpuModel);
    expect(markdown).toContain('### 7. Memory (RSS)');
    expect(written.table).toContain('Single request latency');
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
