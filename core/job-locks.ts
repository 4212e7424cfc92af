import type { WorkerOptions } from 'bullmq';

/** BullMQ's lock settings of a `Worker`, all from `JOB_LOCK_MS` (docs/reliability.md#workers-that-die). */
export type JobLockOptions = Required<Pick<WorkerOptions, 'lockDuration' | 'lockRenewTime' | 'stalledInterval'>>;

/** Renewals come at least this often (ms), whatever the lock's length. */
const MAX_RENEW_MS = 1000;
/** Stalled-job checks run at most this often (ms): one Lua script per queue, shared by all workers. */
const MIN_STALLED_INTERVAL_MS = 1000;

/**
 * The lock of an active job lives `lockMs` after its last renewal. BullMQ's renewal timer fires
 * every half `lockRenewTime` and renews locks older than that, so with a renew time of 1 s a live
 * worker renews each lock at least once a second, and its event loop may stall for `lockMs - 1 s`
 * before a job of its counts as stalled. A dead worker's lock expires `lockMs` after its last
 * renewal; the stalled checker (run by every live worker, at most once per `stalledInterval` for the
 * whole queue) moves a job that it marked at an earlier pass and whose lock is gone. Marked at every
 * pass and unmarked at every renewal, a dead worker's job is already marked when its lock expires, so
 * it is moved back to the queue within `lockMs + stalledInterval` of the worker's death.
 */
export function jobLockOptions(lockMs: number): JobLockOptions {
  return {
    lockDuration: lockMs,
    lockRenewTime: Math.min(MAX_RENEW_MS, lockMs / 2),
    stalledInterval: Math.max(MIN_STALLED_INTERVAL_MS, Math.round(lockMs / 5)),
  };
}
