import type { Figure } from './stats.ts';

/** One line of a pair's table: the orchestrator's figure, the baseline's, and how they compare. */
export interface Row {
  metric: string;
  unit: Unit;
  a?: Figure;
  b?: Figure;
  /** a − b (difference) or a ÷ b (ratio), per round. */
  compare?: { kind: 'difference' | 'ratio'; figure: Figure };
}

export type Unit = 'ms' | 'tokens/s' | 'jobs/s' | 'requests/s' | 'MiB' | 'tokens';

export interface TargetCheck {
  target: string;
  /** What was compared, e.g. "overhead p50". */
  measured: string;
  /** The median over the rounds decides `met`. */
  value: number;
  /** Min and max over the rounds. */
  spread?: [number, number];
  unit: Unit | '%';
  /** The bound the target sets, in `unit`, and which side of it is good. */
  threshold: number;
  better: 'higher' | 'lower';
  met: boolean;
}

/** A target on a figure: met when its median is on the good side of `threshold`. */
export function targetCheck(
  target: string,
  measured: string,
  value: Figure,
  unit: Unit | '%',
  threshold: number,
  better: 'higher' | 'lower',
  scale = 1,
): TargetCheck {
  const median = value.median * scale;
  return {
    target,
    measured,
    value: median,
    spread: [value.min * scale, value.max * scale],
    unit,
    threshold,
    better,
    met: better === 'higher' ? median >= threshold : median <= threshold,
  };
}

export interface PairResult {
  id: number;
  title: string;
  /** Column names of a and b. */
  columns: { a: string; b?: string };
  available: boolean;
  rows: Row[];
  targets: TargetCheck[];
  /** How the pair was run: clients, tokens, settings; and why it is not available. */
  notes: string[];
}

export interface MachineFacts {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  libraries: Record<string, string>;
  redis: string;
  llamaCpp: string;
  gitCommit: string;
  loadAverageBefore: number[];
  loadAverageAfter: number[];
}

/** Every pair run on one model. */
export interface ModelRun {
  /** The model given, and which file both sides loaded. */
  model: { setting: string; id: string; servedBytes: number; served: string; parameters?: number; randomWeights?: boolean };
  /** Rounds, durations and the system's default settings for this model (and why they were chosen). */
  settings: Record<string, unknown>;
  pairs: PairResult[];
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  durationS: number;
  machine: MachineFacts;
  /** One run per model, in the order given (BENCH_MODEL). */
  runs: ModelRun[];
}

/** Results of a single-model run (before several models were measured per run) read as one run. */
export function upgradeResults(json: BenchResults | (Omit<BenchResults, 'runs'> & ModelRun)): BenchResults {
  if ('runs' in json) return json;
  const { model, settings, pairs, ...rest } = json;
  return { ...rest, runs: [{ model, settings, pairs }] };
}
