/**
 * What the progress display says, computed from the batch's counts and the times they were seen:
 * pure functions, so rate, time left and layout are tested without a terminal or a server.
 * Times are milliseconds on any monotonic clock.
 */

/** Lines finished (completed + failed) as seen at one moment. */
export interface Sample {
  at: number;
  done: number;
}

export interface ProgressState {
  status: string;
  total: number;
  completed: number;
  failed: number;
  /** Lines per second over the recent window; undefined until two polls are apart in time. */
  rate: number | undefined;
  /** Seconds left at that rate; undefined when the rate is unknown or zero, or nothing is running. */
  etaSeconds: number | undefined;
}

/**
 * The rate is measured over this recent window rather than since the start: a batch that waited
 * behind interactive traffic, or a follow resumed halfway, would otherwise show a rate it no longer has.
 */
export const RATE_WINDOW_MS = 30_000;
/** Without a terminal to redraw, one line at most this often (and at every status change). */
export const PLAIN_INTERVAL_MS = 5_000;

/**
 * Adds a sample and forgets those older than the window, keeping the newest of them as the
 * window's start: after a stall longer than the window the rate then reads 0 rather than unknown.
 */
export function addSample(samples: readonly Sample[], sample: Sample, windowMs = RATE_WINDOW_MS): Sample[] {
  const last = samples.at(-1);
  // Fewer lines done than before means another batch's counts (or a server that restarted them): start over.
  if (last !== undefined && (sample.done < last.done || sample.at < last.at)) return [sample];
  const kept = [...samples, sample];
  while (kept.length > 2 && kept[1]!.at <= sample.at - windowMs) kept.shift();
  return kept;
}

/** Lines per second between the first and last sample. */
export function rateOf(samples: readonly Sample[]): number | undefined {
  const first = samples[0];
  const last = samples.at(-1);
  if (first === undefined || last === undefined || last.at <= first.at) return undefined;
  return ((last.done - first.done) * 1000) / (last.at - first.at);
}

export function etaSeconds(remaining: number, rate: number | undefined): number | undefined {
  if (remaining <= 0) return 0;
  if (rate === undefined || rate <= 0) return undefined;
  return remaining / rate;
}

export function progressState(status: string, counts: { total: number; completed: number; failed: number }, samples: readonly Sample[]): ProgressState {
  const rate = rateOf(samples);
  const remaining = counts.total - counts.completed - counts.failed;
  return { status, ...counts, rate, etaSeconds: status === 'in_progress' ? etaSeconds(remaining, rate) : undefined };
}

/** `45s`, `3m05s`, `2h10m`, `1d03h`: rounded up, so `0s` only when nothing is left. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const two = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${two(Math.floor((s % 86_400) / 3600))}h`;
}

/** Per second, or per minute when slower than one line in ten seconds (0.0 lines/s says nothing). */
export function formatRate(rate: number | undefined): string {
  if (rate === undefined) return '– lines/s';
  if (rate > 0 && rate < 0.1) return `${(rate * 60).toFixed(1)} lines/min`;
  return `${rate < 10 ? rate.toFixed(1) : Math.round(rate)} lines/s`;
}

function timeLeft(state: ProgressState): string | undefined {
  if (state.status !== 'in_progress') return undefined;
  return state.etaSeconds === undefined ? 'time left unknown' : `${formatDuration(state.etaSeconds)} left`;
}

const done = (state: ProgressState) => state.completed + state.failed;
const percent = (state: ProgressState) => (state.total > 0 ? Math.floor((done(state) * 100) / state.total) : 0);

/** A bar of `width` cells for a fraction 0–1. */
export function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

/**
 * The line redrawn in a terminal, fitted to `columns`: a line that wraps could no longer be
 * redrawn in place with `\r`, so the bar shrinks (or goes) and the end is cut before that happens.
 */
export function ttyLine(state: ProgressState, columns: number): string {
  const width = Math.max(20, columns) - 1;
  if (state.total === 0) return fit(`${state.status}…`, width);
  const parts = [
    `${done(state)}/${state.total} lines${state.failed > 0 ? ` (${state.failed} failed)` : ''}`,
    formatRate(state.rate),
    timeLeft(state),
    state.status,
  ].filter((part) => part !== undefined);
  const text = parts.join(' · ');
  const room = width - text.length - 3;
  if (room < 8) return fit(text, width);
  return fit(`[${bar(done(state) / state.total, Math.min(30, room))}] ${text}`, width);
}

/** One line for a log (stderr not a terminal): nothing is redrawn, so every line says everything. */
export function plainLine(id: string, state: ProgressState): string {
  if (state.total === 0) return `${id} ${state.status}`;
  const parts = [
    `${done(state)}/${state.total} lines done (${percent(state)}%)`,
    ...(state.failed > 0 ? [`${state.failed} failed`] : []),
    formatRate(state.rate),
    ...(state.status === 'in_progress' ? [state.etaSeconds === undefined ? 'time left unknown' : `about ${formatDuration(state.etaSeconds)} left`] : []),
  ];
  return `${id} ${state.status}: ${parts.join(', ')}`;
}

/** Whether a plain line is due: the first, a new status, or `intervalMs` after the last one. */
export function plainLineDue(last: { at: number; status: string } | undefined, now: number, status: string, intervalMs = PLAIN_INTERVAL_MS): boolean {
  return last === undefined || last.status !== status || now - last.at >= intervalMs;
}

function fit(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}
