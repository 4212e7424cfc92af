/** Order statistics for benchmark samples. Percentiles use linear interpolation between ranks. */

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = sorted[low] ?? Number.NaN;
  const highValue = sorted[high] ?? Number.NaN;
  return lowValue + (highValue - lowValue) * (rank - low);
}

export const median = (values: readonly number[]) => percentile(values, 50);

/** A figure measured once per round: its median and its spread over the rounds. */
export interface Figure {
  median: number;
  min: number;
  max: number;
  /** Per-round values, in round order. */
  rounds: number[];
}

export function figure(rounds: readonly number[]): Figure {
  return {
    median: median(rounds),
    min: rounds.length ? Math.min(...rounds) : Number.NaN,
    max: rounds.length ? Math.max(...rounds) : Number.NaN,
    rounds: [...rounds],
  };
}

/** Per-round ratios a/b (the rounds are paired: both sides ran back to back). */
export function ratioFigure(a: Figure, b: Figure): Figure {
  return figure(a.rounds.map((value, i) => value / (b.rounds[i] ?? Number.NaN)));
}

/** Per-round differences a − b. */
export function differenceFigure(a: Figure, b: Figure): Figure {
  return figure(a.rounds.map((value, i) => value - (b.rounds[i] ?? Number.NaN)));
}
