import { describe, expect, it } from 'vitest';
import type { Batch } from '../../tools/batch/batch-object.ts';
import { ProgressDisplay } from '../../tools/batch/progress-display.ts';
import {
  addSample,
  bar,
  etaSeconds,
  formatDuration,
  formatRate,
  plainLine,
  plainLineDue,
  progressState,
  rateOf,
  ttyLine,
  type ProgressState,
  type Sample,
} from '../../tools/batch/progress.ts';

const samples = (...points: [number, number][]): Sample[] =>
  points.reduce<Sample[]>((kept, [at, done]) => addSample(kept, { at, done }, 30_000), []);

const state = (overrides: Partial<ProgressState> = {}): ProgressState => ({
  status: 'in_progress',
  total: 500,
  completed: 120,
  failed: 3,
  rate: 4.2,
  etaSeconds: 90,
  ...overrides,
});

function batch(status: Batch['status'], completed: number, failed = 0, total = 10): Batch {
  return {
    id: 'batch_1',
    object: 'batch',
    endpoint: '/v1/chat/completions',
    input_file_id: 'file-1',
    completion_window: '24h',
    status,
    created_at: 0,
    request_counts: { total, completed, failed },
  };
}

describe('the rate', () => {
  it('is unknown until two samples are apart in time', () => {
    expect(rateOf([])).toBeUndefined();
    expect(rateOf(samples([0, 5]))).toBeUndefined();
    expect(rateOf(samples([0, 5], [0, 7]))).toBeUndefined();
  });

  it('is lines per second between the first and the last sample', () => {
    expect(rateOf(samples([0, 0], [1_000, 2], [2_000, 6]))).toBe(3);
  });

  it('counts only the recent window, so an early burst does not linger', () => {
    // 100 lines in the first second, then 1 line/s for a minute.
    const points: [number, number][] = [[0, 0], [1_000, 100]];
    for (let s = 2; s <= 61; s++) points.push([s * 1_000, 100 + (s - 1)]);
    const kept = samples(...points);
    expect(kept[0]!.at).toBeGreaterThanOrEqual(61_000 - 30_000 - 1_000);
    expect(rateOf(kept)).toBeCloseTo(1, 5);
  });

  it('keeps the last sample before the window, so a long stall reads 0 rather than unknown', () => {
    const kept = samples([0, 10], [40_000, 10], [80_000, 10]);
    expect(kept.length).toBeGreaterThanOrEqual(2);
    expect(rateOf(kept)).toBe(0);
  });

  it('starts over when the count goes backwards', () => {
    expect(samples([0, 10], [1_000, 20], [2_000, 5])).toEqual([{ at: 2_000, done: 5 }]);
  });
});

describe('the time left', () => {
  it('is what remains over the rate', () => {
    expect(etaSeconds(100, 4)).toBe(25);
    expect(etaSeconds(0, undefined)).toBe(0);
  });

  it('is unknown without a rate or at a standstill', () => {
    expect(etaSeconds(10, undefined)).toBeUndefined();
    expect(etaSeconds(10, 0)).toBeUndefined();
  });

  it('is given only while the batch is in progress', () => {
    const moving = samples([0, 0], [2_000, 4]);
    expect(progressState('in_progress', { total: 10, completed: 3, failed: 1 }, moving).etaSeconds).toBe(3);
    expect(progressState('finalizing', { total: 10, completed: 9, failed: 1 }, moving).etaSeconds).toBeUndefined();
    expect(progressState('cancelling', { total: 10, completed: 3, failed: 1 }, moving).etaSeconds).toBeUndefined();
  });
});

describe('formatting', () => {
  it('writes durations rounded up, in two units at most', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(0.2)).toBe('1s');
    expect(formatDuration(59)).toBe('59s');
    expect(formatDuration(65)).toBe('1m05s');
    expect(formatDuration(3_600 * 2 + 60 * 7 + 30)).toBe('2h07m');
    expect(formatDuration(86_400 + 3 * 3_600)).toBe('1d03h');
  });

  it('writes rates per second, or per minute when slow', () => {
    expect(formatRate(undefined)).toBe('– lines/s');
    expect(formatRate(0)).toBe('0.0 lines/s');
    expect(formatRate(4.25)).toBe('4.3 lines/s');
    expect(formatRate(123.4)).toBe('123 lines/s');
    expect(formatRate(0.05)).toBe('3.0 lines/min');
  });

  it('draws a bar of a fixed width', () => {
    expect(bar(0, 4)).toBe('░░░░');
    expect(bar(0.5, 4)).toBe('██░░');
    expect(bar(1.5, 4)).toBe('████');
  });
});

describe('the terminal line', () => {
  it('shows the bar, lines done of total, failures, rate, time left and status', () => {
    const line = ttyLine(state(), 120);
    expect(line).toMatch(/^\[█+░+\] 123\/500 lines \(3 failed\) · 4\.2 lines\/s · 1m30s left · in_progress$/);
  });

  it('never wraps: the bar shrinks, then goes, then the end is cut', () => {
    for (const columns of [120, 80, 60, 40, 20]) expect(ttyLine(state(), columns).length).toBeLessThan(columns);
    expect(ttyLine(state(), 60)).not.toContain('[');
    expect(ttyLine(state(), 40)).toMatch(/…$/);
  });

  it('says the status alone while there is nothing to count', () => {
    expect(ttyLine(state({ status: 'validating', total: 0, completed: 0, failed: 0, rate: undefined, etaSeconds: undefined }), 80)).toBe('validating…');
  });

  it('says when the time left is unknown', () => {
    expect(ttyLine(state({ failed: 0, rate: undefined, etaSeconds: undefined }), 120)).toContain('120/500 lines · – lines/s · time left unknown · in_progress');
  });
});

describe('the plain line (stderr not a terminal)', () => {
  it('says everything in one line', () => {
    expect(plainLine('batch_1', state())).toBe('batch_1 in_progress: 123/500 lines done (24%), 3 failed, 4.2 lines/s, about 1m30s left');
    expect(plainLine('batch_1', state({ status: 'finalizing', completed: 497, etaSeconds: undefined }))).toBe(
      'batch_1 finalizing: 500/500 lines done (100%), 3 failed, 4.2 lines/s',
    );
    expect(plainLine('batch_1', state({ status: 'validating', total: 0 }))).toBe('batch_1 validating');
  });

  it('is due first, at a new status, and every few seconds', () => {
    expect(plainLineDue(undefined, 0, 'validating')).toBe(true);
    expect(plainLineDue({ at: 0, status: 'validating' }, 1_000, 'in_progress')).toBe(true);
    expect(plainLineDue({ at: 0, status: 'in_progress' }, 4_999, 'in_progress')).toBe(false);
    expect(plainLineDue({ at: 0, status: 'in_progress' }, 5_000, 'in_progress')).toBe(true);
  });
});

describe('the display', () => {
  function fakeOutput(isTTY: boolean) {
    const written: string[] = [];
    return { written, output: { isTTY, columns: 100, write: (text: string) => written.push(text) } };
  }

  it('writes a plain line at most every few seconds without a terminal, and at every status change', () => {
    let now = 0;
    const { written, output } = fakeOutput(false);
    const display = new ProgressDisplay(output, 'batch_1', () => now);
    display.update(batch('in_progress', 0));
    now = 1_000;
    display.update(batch('in_progress', 2));
    now = 5_000;
    display.update(batch('in_progress', 6));
    now = 6_000;
    display.update(batch('finalizing', 10));
    display.finish();
    expect(written).toEqual([
      'batch_1 in_progress: 0/10 lines done (0%), – lines/s, time left unknown\n',
      'batch_1 in_progress: 6/10 lines done (60%), 1.2 lines/s, about 4s left\n',
      'batch_1 finalizing: 10/10 lines done (100%), 1.7 lines/s\n',
    ]);
    expect(written.join('')).not.toContain('\r');
  });

  it('redraws one line in a terminal, and leaves the last one on screen', () => {
    let now = 0;
    const { written, output } = fakeOutput(true);
    const display = new ProgressDisplay(output, 'batch_1', () => now);
    display.update(batch('in_progress', 1));
    now = 1_000;
    display.update(batch('in_progress', 3));
    display.note('GET /v1/batches/batch_1 answered 503: overloaded; asking again in 2 s');
    display.update(batch('completed', 10));
    display.finish();
    // Each redraw: carriage return, the line, erase to the end of the line (ESC [ K).
    const redraws = written.filter((text) => text.startsWith('\r[')).map((text) => {
      expect(text.endsWith('\x1b[K')).toBe(true);
      return text.slice(1, -3);
    });
    expect(redraws).toHaveLength(3);
    expect(redraws[0]).toMatch(/^\[.*\] 1\/10 lines /);
    expect(redraws[1]).toMatch(/^\[.*\] 3\/10 lines · 2\.0 lines\/s · 4s left · in_progress$/);
    expect(redraws[2]).toMatch(/^\[█+\] 10\/10 lines .* completed$/);
    expect(written.slice(2, 4)).toEqual(['\r\x1b[K', 'GET /v1/batches/batch_1 answered 503: overloaded; asking again in 2 s\n']);
    expect(written.at(-1)).toBe('\n');
  });
});
