/**
 * Usage is kept per UTC day: every process, wherever it runs, files a token under the same day,
 * and a daily budget renews at the same instant for everyone (midnight UTC).
 */

const DAY_MS = 86_400_000;
const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The UTC day of an instant, as `YYYY-MM-DD`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Midnight UTC that starts `day` (epoch ms), or undefined when `day` is not a real `YYYY-MM-DD` date. */
export function parseUtcDay(day: string): number | undefined {
  const match = DAY_PATTERN.exec(day);
  if (!match) return undefined;
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  // Date.UTC rolls 2025-02-30 over into March: only a date that survives the round trip is real.
  return utcDay(ms) === day ? ms : undefined;
}

/** The next midnight UTC after `ms` (epoch ms). */
export function nextUtcMidnight(ms: number): number {
  return (Math.floor(ms / DAY_MS) + 1) * DAY_MS;
}

/** Whole seconds from `ms` to the next midnight UTC, rounded up: a client that waits that long finds a new day. */
export function secondsUntilNextUtcMidnight(ms: number): number {
  return Math.max(1, Math.ceil((nextUtcMidnight(ms) - ms) / 1000));
}

/** Every day from `from` to `to`, both included (`from` ≤ `to`, both midnights from `parseUtcDay`). */
export function daysBetween(fromMs: number, toMs: number): string[] {
  const days: string[] = [];
  for (let ms = fromMs; ms <= toMs; ms += DAY_MS) days.push(utcDay(ms));
  return days;
}

/** Number of days from `from` to `to`, both included. */
export function dayCount(fromMs: number, toMs: number): number {
  return Math.round((toMs - fromMs) / DAY_MS) + 1;
}

/**
 * When a day's usage record expires (epoch seconds, for EXPIREAT): `retentionDays` after the day
 * ends, whenever it was last written, so a record's end never moves.
 */
export function usageExpiresAt(day: string, retentionDays: number): number {
  const start = parseUtcDay(day) ?? Date.now();
  return Math.floor((start + DAY_MS * (1 + retentionDays)) / 1000);
}
