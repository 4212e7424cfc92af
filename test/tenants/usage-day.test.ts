import { describe, expect, it } from 'vitest';
import { dayCount, daysBetween, nextUtcMidnight, parseUtcDay, secondsUntilNextUtcMidnight, usageExpiresAt, utcDay } from '../../core/tenants/usage-day.ts';

describe('UTC days of usage', () => {
  it('names the UTC day of an instant, whatever the local time zone', () => {
    expect(utcDay(Date.UTC(2025, 0, 31, 23, 59, 59, 999))).toBe('2025-01-31');
    expect(utcDay(Date.UTC(2025, 1, 1))).toBe('2025-02-01');
  });

  it('reads only real calendar dates as YYYY-MM-DD', () => {
    expect(parseUtcDay('2024-02-29')).toBe(Date.UTC(2024, 1, 29));
    for (const bad of ['2023-02-29', '2025-13-01', '2025-04-31', '2025-1-01', '20250101', '2025-01-01T00:00:00Z', '']) {
      expect(parseUtcDay(bad), bad).toBeUndefined();
    }
  });

  it('counts the seconds to the next midnight UTC, rounded up, never 0', () => {
    expect(secondsUntilNextUtcMidnight(Date.UTC(2025, 5, 1, 23, 59, 59, 500))).toBe(1);
    expect(secondsUntilNextUtcMidnight(Date.UTC(2025, 5, 1, 0, 0, 0, 0))).toBe(86_400);
    expect(secondsUntilNextUtcMidnight(Date.UTC(2025, 5, 1, 12, 0, 0, 1))).toBe(43_200);
    expect(nextUtcMidnight(Date.UTC(2025, 11, 31, 8))).toBe(Date.UTC(2026, 0, 1));
  });

  it('lists every day of a range, both ends included, across months and leap days', () => {
    const from = parseUtcDay('2024-02-27')!;
    const to = parseUtcDay('2024-03-01')!;
    expect(daysBetween(from, to)).toEqual(['2024-02-27', '2024-02-28', '2024-02-29', '2024-03-01']);
    expect(dayCount(from, to)).toBe(4);
    expect(dayCount(parseUtcDay('2024-01-01')!, parseUtcDay('2024-12-31')!)).toBe(366);
  });

  it('expires a day record a fixed time after its day, however often it is written', () => {
    expect(usageExpiresAt('2025-03-10', 400)).toBe(Date.UTC(2025, 2, 11) / 1000 + 400 * 86_400);
  });
});
