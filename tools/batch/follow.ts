/**
 * Following a batch until it ends: polling that starts at one second and slows down while nothing
 * changes, and rides out a restarting server rather than giving up on a batch that may run for a day.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, type BatchClient } from './batch-client.ts';
import { countsOf, isFinal, type Batch } from './batch-object.ts';
import type { ProgressDisplay } from './progress-display.ts';
import { failureText, isTransient, nextRetryDelay } from './retry.ts';

export const MIN_POLL_MS = 1_000;
export const MAX_POLL_MS = 10_000;
/** Failing this long without a single answer ends the follow (the batch itself goes on). */
export const GIVE_UP_AFTER_MS = 10 * 60_000;

/**
 * The next wait between polls: 1.5× longer while the batch shows no change (a queued batch is not
 * asked every second for hours), 1.5× shorter again once it moves, always within 1–10 s.
 */
export function nextPollDelay(currentMs: number, changed: boolean): number {
  const next = changed ? currentMs / 1.5 : currentMs * 1.5;
  return Math.round(Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, next)));
}

export interface FollowOptions {
  client: Pick<BatchClient, 'getBatch'>;
  id: string;
  display: ProgressDisplay;
  /** Aborting it (Ctrl-C) stops the follow at once with an AbortError; the batch goes on. */
  signal: AbortSignal;
}

/** Polls until the batch reaches a final status, and resolves with it. */
export async function followBatch({ client, id, display, signal }: FollowOptions): Promise<Batch> {
  let delay = MIN_POLL_MS;
  let seen: string | undefined;
  let failingSince: number | undefined;
  for (;;) {
    try {
      const batch = await client.getBatch(id, signal);
      failingSince = undefined;
      display.update(batch);
      if (isFinal(batch.status)) {
        display.finish();
        return batch;
      }
      const counts = countsOf(batch);
      const now = `${batch.status} ${counts.total} ${counts.completed} ${counts.failed}`;
      delay = nextPollDelay(delay, now !== seen);
      seen = now;
    } catch (error) {
      if (signal.aborted || !isTransient(error)) throw error;
      failingSince ??= Date.now();
      if (Date.now() - failingSince > GIVE_UP_AFTER_MS) throw error;
      delay = nextRetryDelay(delay, error instanceof ApiError ? error.retryAfterMs : undefined);
      display.note(`${failureText(error)}; asking again in ${Math.round(delay / 1000)} s`);
    }
    await sleep(delay, undefined, { signal });
  }
}
