/**
 * Asking again after a transient failure: a deployment restarting or overloaded for a moment
 * should cost a batch that ran for hours a pause, not its results.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, ConnectionError } from './batch-client.ts';

export const MIN_RETRY_MS = 1_000;
/** Longest wait between attempts while the server cannot be reached or is overloaded. */
export const MAX_RETRY_MS = 30_000;
/** Longest wait a server's Retry-After is obeyed for. */
const MAX_RETRY_AFTER_MS = 60_000;

/** No answer, or one that may be different later (408, 429, 5xx but 501). */
export function isTransient(error: unknown): error is ApiError | ConnectionError {
  return (error instanceof ApiError || error instanceof ConnectionError) && error.transient;
}

/** The wait after a failure: doubling from 1 s up to 30 s, or longer when the server asks (Retry-After, up to a minute). */
export function nextRetryDelay(currentMs: number, retryAfterMs?: number): number {
  const doubled = Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, currentMs * 2));
  return retryAfterMs === undefined ? doubled : Math.max(doubled, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
}

/** One line saying what failed, for the retry notice. */
export function failureText(error: ApiError | ConnectionError): string {
  return error instanceof ApiError ? `${error.request} answered ${error.status}: ${error.message}` : error.message;
}

export interface RetryOptions {
  /** Attempts in all, the first included. */
  attempts: number;
  signal: AbortSignal;
  /** Which failures to try again after; default every transient one. */
  retryable?: (error: ApiError | ConnectionError) => boolean;
  onRetry: (message: string) => void;
}

/** Runs `attempt` until it succeeds, fails for good, or has failed `attempts` times. */
export async function withRetries<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  let delay = MIN_RETRY_MS / 2;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (options.signal.aborted || tries >= options.attempts || !isTransient(error)) throw error;
      if (options.retryable && !options.retryable(error)) throw error;
      delay = nextRetryDelay(delay, error instanceof ApiError ? error.retryAfterMs : undefined);
      options.onRetry(`${failureText(error)}; trying again in ${Math.round(delay / 1000)} s`);
      await sleep(delay, undefined, { signal: options.signal });
    }
  }
}
