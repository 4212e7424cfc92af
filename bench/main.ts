/**
 * `npm run bench`: the orchestrator next to its bare engines, in one run. See docs/benchmarks.md.
 * `BENCH_RENDER=<results.json>` only rewrites the report from earlier results (after editing bench/findings.md).
 */
import { readFileSync } from 'node:fs';
import { benchOptionsFromEnv } from './options.ts';
import { upgradeResults, type BenchResults } from './results.ts';
import { runBench, writeResults } from './run.ts';

const options = benchOptionsFromEnv();
const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
try {
  const results = process.env.BENCH_RENDER
    ? upgradeResults(JSON.parse(readFileSync(process.env.BENCH_RENDER, 'utf8')) as BenchResults)
    : await runBench(options, { log });
  const written = writeResults(results, options);
  process.stdout.write(`${written.table}\n\nWrote ${written.json} and ${written.docs}\n`);
  process.exit(0);
} catch (error) {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
