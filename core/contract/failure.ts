import { UnrecoverableError } from 'bullmq';
import { AppError } from '../errors.ts';

/**
 * Why a job failed, as it travels from the worker to the API: in BullMQ's `failedReason` and in
 * the `error` event of the job's stream.
 */
export interface JobFailure {
  code: string;
  /** For the client when `expose`; otherwise for logs and Bull Board only. */
  message: string;
  /** Whether another attempt may succeed (a crashed thread) or cannot (a prompt too long). */
  retryable: boolean;
  /** Whether clients may see `message`: only for failures that are about their own request. */
  expose: boolean;
}

/**
 * The failures that have a code of their own. Anything else a worker throws (a thread that died,
 * Redis gone mid-job) is `generation_failed`: retried, and summarised to clients.
 */
const KNOWN = {
  /** The prompt and the generation cannot fit the model's context. */
  prompt_too_long: { retryable: false, expose: true, status: 400 },
  /** A job the worker cannot run as given (no prompt, no messages). */
  invalid_request: { retryable: false, expose: true, status: 400 },
  /** Every attempt failed for a reason of the system's, not the request's (502: a worker behind the API failed). */
  generation_failed: { retryable: true, expose: false, status: 502 },
  /** The worker holding the job stopped renewing its lock too often (it died or hung). */
  worker_lost: { retryable: true, expose: false, status: 502 },
} as const satisfies Record<string, Pick<JobFailure, 'retryable' | 'expose'> & { status: number }>;
export type FailureCode = keyof typeof KNOWN;

/** BullMQ's reason for a job that stalled more often than `maxStalledCount` allows. */
const STALLED_REASON = 'stalled more than allowable limit';

const isKnown = (code: string): code is FailureCode => Object.hasOwn(KNOWN, code);

export function jobFailure(code: FailureCode, message: string): JobFailure {
  const { retryable, expose } = KNOWN[code];
  return { code, message, retryable, expose };
}

/**
 * The failure as one line, `<code>: <message>`, which is what Bull Board shows as the reason.
 * The code's entry above restores the rest when it is decoded.
 */
export function encodeFailure(failure: JobFailure): string {
  return `${failure.code}: ${failure.message}`;
}

/** Reads a reason written by `encodeFailure`, by BullMQ itself (stalls) or by any thrown error. */
export function decodeFailure(reason: string | undefined): JobFailure {
  const text = reason ?? '';
  const match = /^([a-z_]+): (.+)$/s.exec(text);
  const code = match?.[1];
  if (code !== undefined && match?.[2] !== undefined && isKnown(code)) return jobFailure(code, match[2]);
  if (text.includes(STALLED_REASON)) return jobFailure('worker_lost', text);
  return jobFailure('generation_failed', text || 'generation failed');
}

/** The error a worker throws for a failure: BullMQ retries it only when it is retryable. */
export function failureError(failure: JobFailure): Error {
  const message = encodeFailure(failure);
  return failure.retryable ? new Error(message) : new UnrecoverableError(message);
}

/**
 * What a client is told: the message itself when it is about their request, else a summary of
 * what the system tried (attempts that failed, and times the job's worker was lost).
 */
export function publicFailure(failure: JobFailure, tries: { attempts: number; stalls?: number }): JobFailure {
  if (failure.expose) return failure;
  if (failure.code === 'worker_lost') {
    return { ...failure, message: `the job's worker stopped responding ${Math.max(tries.stalls ?? 0, 1)} time(s)`, expose: true };
  }
  return { ...failure, message: `generation failed after ${Math.max(tries.attempts, 1)} attempt(s)`, expose: true };
}

/** The HTTP status of a failed job: 400 when the request itself was at fault, else 502. */
export function failureStatus(failure: Pick<JobFailure, 'code'>): number {
  return isKnown(failure.code) ? KNOWN[failure.code].status : 502;
}

/** A failed job as the error an HTTP route answers with, given what `publicFailure` made of it. */
export function failureAppError(failure: Pick<JobFailure, 'code' | 'message'>): AppError {
  return new AppError(failureStatus(failure), failure.code, failure.message, { expose: true });
}
