import { MiB } from '../context.ts';
import type { PairResult, Row } from '../results.ts';
import { figure } from '../stats.ts';

export interface MemorySamples {
  idleBefore: { api: number; worker: number };
  idleAfter: { api: number; worker: number };
  /** Per-round peaks under generation load (pair 2, most clients). */
  generateLoad: { api: number[]; worker: number[] };
  /** Per-round peaks of the API under cache-hit load (pair 4). */
  cacheHitLoad: number[];
}

const mib = (bytes: number[]) => figure(bytes.map((b) => b / MiB));

/** Pair 7: resident memory of the API and worker processes, idle and under load. */
export function memoryTable(samples: MemorySamples, topClients: number): PairResult {
  const rows: Row[] = [
    { metric: 'api, idle (after warm-up)', unit: 'MiB', a: mib([samples.idleBefore.api]) },
    { metric: `api, peak under generation load (${topClients} clients)`, unit: 'MiB', a: mib(samples.generateLoad.api) },
    { metric: 'api, peak under cache-hit load', unit: 'MiB', a: mib(samples.cacheHitLoad) },
    { metric: 'api, idle after the run', unit: 'MiB', a: mib([samples.idleAfter.api]) },
    { metric: 'worker, idle (after warm-up)', unit: 'MiB', a: mib([samples.idleBefore.worker]) },
    { metric: `worker, peak under generation load (${topClients} clients)`, unit: 'MiB', a: mib(samples.generateLoad.worker) },
    { metric: 'worker, idle after the run', unit: 'MiB', a: mib([samples.idleAfter.worker]) },
  ];
  return {
    id: 7,
    title: 'Memory (RSS)',
    columns: { a: 'resident set size' },
    available: true,
    rows,
    targets: [],
    notes: ['VmRSS from /proc, sampled every 100 ms; the worker figure includes its pool threads (one process). Idle figures are single samples.'],
  };
}
