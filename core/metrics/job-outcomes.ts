import type { Job, Worker } from 'bullmq';
import type { GenerationResult, JobData } from '../job-contract.ts';
import { processMetrics, type Metrics } from './registry.ts';

/**
 * Counts how jobs end in a BullMQ worker, from the worker's own events, which fire once BullMQ has
 * recorded the outcome in Redis: completed (by finish reason), cancelled, failed for good, retried,
 * stalled. Jobs handed back to the queue at shutdown emit none of them.
 */
export function trackJobOutcomes(worker: Worker<JobData, GenerationResult>, metrics: Metrics = processMetrics()): void {
  const { m } = metrics;
  const queue = { queue: worker.name };
  worker.on('completed', (_job, result) => {
    if (result.finish_reason === 'cancelled') m.jobsCancelled.inc(queue);
    else m.jobsCompleted.inc({ ...queue, finish_reason: result.finish_reason });
  });
  worker.on('failed', (job, error) => {
    if (job && willRetry(job, error)) m.jobsRetried.inc(queue);
    else m.jobsFailed.inc(queue);
  });
  worker.on('stalled', () => m.jobsStalled.inc(queue));
}

/** BullMQ's own rule, read after the failed attempt was counted: attempts left and a retryable error. */
function willRetry(job: Job, error: Error): boolean {
  return error.name !== 'UnrecoverableError' && job.attemptsMade < (job.opts.attempts ?? 1);
}
