import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import {
  decodeFailure,
  encodeFailure,
  failureAppError,
  failureError,
  failureStatus,
  jobFailure,
  publicFailure,
} from '../../../core/contract/failure.ts';

describe('a job failure', () => {
  it('round-trips through its one-line encoding', () => {
    for (const failure of [
      jobFailure('prompt_too_long', 'prompt is 600 tokens; the context holds 512 tokens including the generated ones'),
      jobFailure('invalid_request', 'a job needs a prompt or messages'),
      jobFailure('generation_failed', 'Worker terminated: out of memory'),
    ]) {
      expect(decodeFailure(encodeFailure(failure))).toEqual(failure);
    }
  });

  it('reads a multi-line message whole', () => {
    expect(decodeFailure('prompt_too_long: line one\nline two').message).toBe('line one\nline two');
  });

  it('reads any other error as a retryable generation failure that clients do not see', () => {
    expect(decodeFailure('Error: socket hang up')).toEqual({ code: 'generation_failed', message: 'Error: socket hang up', retryable: true, expose: false });
    expect(decodeFailure('unknown_code: something')).toMatchObject({ code: 'generation_failed', expose: false });
    expect(decodeFailure(undefined)).toMatchObject({ code: 'generation_failed', message: 'generation failed' });
  });

  it("reads BullMQ's stall reason as a lost worker", () => {
    expect(decodeFailure('job stalled more than allowable limit')).toMatchObject({ code: 'worker_lost', retryable: true, expose: false });
  });

  it('becomes an error BullMQ retries only when it is retryable', () => {
    expect(failureError(jobFailure('prompt_too_long', 'x'))).toBeInstanceOf(UnrecoverableError);
    const transient = failureError(jobFailure('generation_failed', 'thread died'));
    expect(transient).not.toBeInstanceOf(UnrecoverableError);
    expect(transient.message).toBe('generation_failed: thread died');
  });
});

describe('what a client is told of a failure', () => {
  it("is the message itself when it is about the client's request", () => {
    const failure = jobFailure('prompt_too_long', 'prompt is 600 tokens');
    expect(publicFailure(failure, { attempts: 1 })).toEqual(failure);
  });

  it('is a summary of the attempts for failures of the system', () => {
    expect(publicFailure(decodeFailure('Error: ECONNRESET at 10.0.0.3'), { attempts: 3 })).toMatchObject({
      code: 'generation_failed',
      message: 'generation failed after 3 attempt(s)',
      expose: true,
    });
    expect(publicFailure(decodeFailure('job stalled more than allowable limit'), { attempts: 0, stalls: 2 })).toMatchObject({
      code: 'worker_lost',
      message: "the job's worker stopped responding 2 time(s)",
    });
  });

  it("answers 400 for the request's own faults and 502 for the system's", () => {
    expect(failureStatus({ code: 'prompt_too_long' })).toBe(400);
    expect(failureStatus({ code: 'invalid_request' })).toBe(400);
    expect(failureStatus({ code: 'generation_failed' })).toBe(502);
    expect(failureStatus({ code: 'worker_lost' })).toBe(502);
    expect(failureStatus({ code: 'not_a_code' })).toBe(502);
    const error = failureAppError(publicFailure(jobFailure('prompt_too_long', 'too long'), { attempts: 1 }));
    expect([error.status, error.code, error.message, error.expose]).toEqual([400, 'prompt_too_long', 'too long', true]);
  });
});
