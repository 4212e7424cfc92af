import { describe, expect, it } from 'vitest';
import { ApiError, ConnectionError } from '../../tools/batch/batch-client.ts';
import type { Batch } from '../../tools/batch/batch-object.ts';
import { followBatch, MAX_POLL_MS, MIN_POLL_MS, nextPollDelay } from '../../tools/batch/follow.ts';
import { ProgressDisplay } from '../../tools/batch/progress-display.ts';
import { MAX_RETRY_MS, nextRetryDelay, withRetries } from '../../tools/batch/retry.ts';

function batch(status: Batch['status'], completed = 0): Batch {
  return { id: 'batch_1', object: 'batch', endpoint: '/v1/chat/completions', input_file_id: 'file-1', completion_window: '24h', status, created_at: 0, request_counts: { total: 2, completed, failed: 0 } };
}

describe('polling', () => {
  it('slows down while nothing changes and speeds up again, within 1–10 s', () => {
    let delay = MIN_POLL_MS;
    const idle: number[] = [];
    for (let i = 0; i < 8; i++) idle.push((delay = nextPollDelay(delay, false)));
    expect(idle).toEqual([1_500, 2_250, 3_375, 5_063, 7_595, 10_000, 10_000, 10_000]);
    expect(nextPollDelay(MAX_POLL_MS, true)).toBe(6_667);
    expect(nextPollDelay(MIN_POLL_MS, true)).toBe(MIN_POLL_MS);
  });

  it('backs off after failures, up to 30 s, or as long as Retry-After asks (up to a minute)', () => {
    expect(nextRetryDelay(1_000)).toBe(2_000);
    expect(nextRetryDelay(20_000)).toBe(MAX_RETRY_MS);
    expect(nextRetryDelay(1_000, 15_000)).toBe(15_000);
    expect(nextRetryDelay(1_000, 3_600_000)).toBe(60_000);
  });

  it('follows a batch to its end through a failed poll, drawing its progress', async () => {
    const answers: (Batch | Error)[] = [batch('in_progress', 1), new ApiError('GET /v1/batches/batch_1', 503, 'overloaded'), batch('completed', 2)];
    const written: string[] = [];
    const display = new ProgressDisplay({ isTTY: false, write: (text: string) => written.push(text) }, 'batch_1');
    const client = {
      getBatch: async () => {
        const next = answers.shift()!;
        if (next instanceof Error) throw next;
        return next;
      },
    };
    const final = await followBatch({ client, id: 'batch_1', display, signal: new AbortController().signal });
    expect(final.status).toBe('completed');
    expect(answers).toEqual([]);
    expect(written[0]).toMatch(/^batch_1 in_progress: 1\/2 lines done/);
    expect(written[1]).toBe('GET /v1/batches/batch_1 answered 503: overloaded; asking again in 2 s\n');
    expect(written[2]).toMatch(/^batch_1 completed: 2\/2 lines done/);
  }, 10_000);

  it('stops at once on a refusal that will not change, and on an abort', async () => {
    const display = new ProgressDisplay({ write: () => true }, 'batch_1');
    const missing = { getBatch: async () => Promise.reject(new ApiError('GET /v1/batches/nope', 404, 'not found')) };
    await expect(followBatch({ client: missing, id: 'nope', display, signal: new AbortController().signal })).rejects.toThrow('not found');
    const controller = new AbortController();
    const running = { getBatch: async () => batch('in_progress') };
    const following = followBatch({ client: running, id: 'batch_1', display, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(following).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('retries', () => {
  it('tries a transient failure again, and gives up after the attempts', async () => {
    const notes: string[] = [];
    let calls = 0;
    const result = await withRetries(
      async () => {
        if (++calls === 1) throw new ConnectionError('cannot reach http://api.test (POST /v1/files): socket hang up');
        return 'ok';
      },
      { attempts: 2, signal: new AbortController().signal, onRetry: (note) => notes.push(note) },
    );
    expect(result).toBe('ok');
    expect(notes).toEqual(['cannot reach http://api.test (POST /v1/files): socket hang up; trying again in 1 s']);
    calls = 0;
    await expect(withRetries(async () => Promise.reject(new ApiError('GET /x', 500, 'boom', undefined, undefined, undefined, 0)), {
      attempts: 1, signal: new AbortController().signal, onRetry: () => calls++,
    })).rejects.toThrow('boom');
    expect(calls).toBe(0);
  });

  it('never tries a refusal again, nor what the caller says may have taken effect', async () => {
    let calls = 0;
    const options = { attempts: 5, signal: new AbortController().signal, onRetry: () => undefined };
    await expect(withRetries(async () => (calls++, Promise.reject(new ApiError('POST /v1/batches', 400, 'bad'))), options)).rejects.toThrow('bad');
    await expect(withRetries(async () => (calls++, Promise.reject(new ApiError('POST /v1/batches', 503, 'busy'))), {
      ...options,
      retryable: (error) => error instanceof ApiError && error.status === 429,
    })).rejects.toThrow('busy');
    expect(calls).toBe(2);
  });
});
