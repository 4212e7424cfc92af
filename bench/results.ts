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
  met: boolean;
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

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  durationS: number;
  machine: MachineFacts;
  /** The model given, and which file both sides loaded. */
  model: { setting: string; id: string; servedBytes: number; served: string };
  settings: Record<string, unknown>;
  pairs: PairResult[];
}
