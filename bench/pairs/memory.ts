import { MiB } from '../context.ts';
import { targetCheck, type PairResult, type Row, type TargetCheck } from '../results.ts';
import { figure, ratioFigure } from '../stats.ts';
import type { ProcessMemory } from '../system.ts';

export interface MemorySamples {
  idleBefore: { api: ProcessMemory; worker: ProcessMemory };
  idleAfter: { api: ProcessMemory; worker: ProcessMemory };
  /** Per-round peaks under generation load (pair 2, most clients), the bare engine's process included. */
  generateLoad: { api: ProcessMemory[]; worker: ProcessMemory[]; bare: ProcessMemory[] };
  /** Per-round RSS peaks of the API under cache-hit load (pair 4), when it ran. */
  cacheHitLoad?: number[];
}

const mib = (bytes: number[]) => figure(bytes.map((b) => b / MiB));
const rss = (samples: ProcessMemory[]) => mib(samples.map((s) => s.rss));
const pss = (samples: ProcessMemory[]) => mib(samples.map((s) => s.pss));

/**
 * Pair 7: memory of the API and worker processes, idle and under load, and the worker's next to
 * bare node-llama-cpp holding the same model with the same contexts and sequences. RSS counts a
 * page once per mapping; PSS shares it among the mappings, so weights mapped twice count once.
 */
export function memoryTable(samples: MemorySamples, topClients: number, large: boolean): PairResult {
  const load = samples.generateLoad;
  const workerPss = pss(load.worker);
  const barePss = pss(load.bare);
  const pssRatio = ratioFigure(workerPss, barePss);
  const rows: Row[] = [
    { metric: 'api RSS, idle (after warm-up)', unit: 'MiB', a: mib([samples.idleBefore.api.rss]) },
    { metric: `api RSS, peak under generation load (${topClients} clients)`, unit: 'MiB', a: rss(load.api) },
    ...(samples.cacheHitLoad ? [{ metric: 'api RSS, peak under cache-hit load', unit: 'MiB' as const, a: mib(samples.cacheHitLoad) }] : []),
    { metric: 'api RSS, idle after the run', unit: 'MiB', a: mib([samples.idleAfter.api.rss]) },
    { metric: 'worker RSS, idle (after warm-up)', unit: 'MiB', a: mib([samples.idleBefore.worker.rss]) },
    { metric: 'worker PSS, idle (after warm-up)', unit: 'MiB', a: mib([samples.idleBefore.worker.pss]) },
    {
      metric: `worker RSS, peak under generation load (${topClients} clients)`,
      unit: 'MiB',
      a: rss(load.worker),
      b: rss(load.bare),
      compare: { kind: 'ratio', figure: ratioFigure(rss(load.worker), rss(load.bare)) },
    },
    { metric: `worker PSS, peak under generation load (${topClients} clients)`, unit: 'MiB', a: workerPss, b: barePss, compare: { kind: 'ratio', figure: pssRatio } },
    { metric: 'worker RSS, idle after the run', unit: 'MiB', a: mib([samples.idleAfter.worker.rss]) },
  ];
  // A small model's weights are a rounding error next to a JavaScript runtime: the target is about copies of large weights.
  const targets: TargetCheck[] = large ? [targetCheck('worker PSS ≤ 115% of bare', 'ratio', pssRatio, '%', 115, 'lower', 100)] : [];
  return {
    id: 7,
    title: 'Memory (RSS and PSS)',
    columns: { a: 'orchestrator', b: 'node-llama-cpp' },
    available: true,
    rows,
    targets,
    notes: [
      'From /proc/<pid>/smaps_rollup, sampled every 100 ms; the worker figure includes its pool threads (one process). Idle figures are single samples.',
      'node-llama-cpp: the baseline process of pairs 1 and 2 (the same model, contexts and sequences as the worker), sampled during its own rounds of pair 2.',
      'RSS counts every resident page a process maps; PSS divides a shared page among the processes mapping it, so a file mapped by several processes is not counted several times.',
    ],
  };
}
