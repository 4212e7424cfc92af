import { describe, expect, it } from 'vitest';
import type { Batch } from '../../tools/batch/batch-object.ts';
import { batchErrorLines, isoTime, statusLines, summaryLine } from '../../tools/batch/batch-report.ts';

const base: Batch = {
  id: 'batch_1',
  object: 'batch',
  endpoint: '/v1/chat/completions',
  input_file_id: 'file-in',
  completion_window: '24h',
  status: 'completed',
  output_file_id: 'file-out',
  error_file_id: null,
  created_at: 1_700_000_000,
  in_progress_at: 1_700_000_001,
  completed_at: 1_700_000_060,
  expires_at: 1_700_086_400,
  cancelled_at: null,
  request_counts: { total: 5, completed: 4, failed: 1 },
  metadata: { team: 'search' },
};

describe('what the batch command prints about a batch', () => {
  it('ends a run with one line: status, counts and files', () => {
    expect(summaryLine(base, { output: '/tmp/out.jsonl', errors: '/tmp/out.errors.jsonl' })).toBe(
      'batch_1 completed: 5 of 5 lines done (4 succeeded, 1 failed); output: /tmp/out.jsonl; errors: /tmp/out.errors.jsonl',
    );
    expect(summaryLine({ ...base, status: 'failed', request_counts: null }, {})).toBe('batch_1 failed: no lines run; output: none; errors: none');
  });

  it("lists a failed batch's errors by line", () => {
    const failed: Batch = {
      ...base,
      status: 'failed',
      errors: { object: 'list', data: [{ code: 'invalid_json', message: 'not JSON', param: null, line: 2 }, { code: 'too_many_lines', message: 'over 50000 lines' }] },
    };
    expect(batchErrorLines(failed)).toEqual(['line 2: invalid_json: not JSON', 'too_many_lines: over 50000 lines']);
    expect(batchErrorLines(base)).toEqual([]);
  });

  it('shows status with files, the times that are set, and metadata', () => {
    expect(statusLines(base)).toEqual([
      'batch_1 completed: 5 of 5 lines done (4 succeeded, 1 failed)',
      '  endpoint     /v1/chat/completions',
      '  window       24h',
      '  input file   file-in',
      '  output file  file-out',
      '  error file   none',
      `  created      ${isoTime(1_700_000_000)}`,
      `  in progress  ${isoTime(1_700_000_001)}`,
      `  completed    ${isoTime(1_700_000_060)}`,
      `  expires      ${isoTime(1_700_086_400)}`,
      '  metadata     team=search',
    ]);
    expect(isoTime(1_700_000_000)).toBe('2023-11-14T22:13:20Z');
  });
});
