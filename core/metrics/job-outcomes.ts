import type { Job, Worker } from 'bullmq';
import { FINISH_REASONS, type GenerationResult, type JobData } from '../job-contract.ts';
import { CACHE_RESULTS } from './names.ts';
import { processMetrics, type Metrics } from './registry.ts';

/**
 * Counts how jobs end in a BullMQ worker, from the worker's own events, which fire once BullMQ has
 * recorded the outcome in Redis: completed (by finish reason), cancelled, failed for good, retried,
 * stalled. Jobs handed back to the queue at shutdown emit none of them.
 */
export function trackJobOutcomes(worker: Worker<JobData, GenerationResult>, model: string, metrics: Metrics = processMetrics()): void {
  const { m } = metrics;
  const queue = { queue: worker.name, model };
  // Series exist from the start at 0, so rate() and ratios see the first job too (Prometheus cannot rate a series it never saw).
  for (const reason of FINISH_REASONS) if (reason !== 'cancelled') m.jobsCompleted.inc({ ...queue, finish_reason: reason }, 0);
  for (const counter of [m.jobsFailed, m.jobsRetried, m.jobsCancelled, m.jobsStalled]) counter.inc(queue, 0);
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

/** The API's counters at 0 from the start, for the same reason as the worker's. */
export function initSubmissionCounters(queueName: string, model: string, metrics: Metrics = processMetrics()): void {
  const { m } = metrics;
  const labels = { queue: queueName, model };
  m.jobsSubmitted.inc(labels, 0);
  m.jobsCancelled.inc(labels, 0);
  m.jobsUnconfirmed.inc(labels, 0);
  for (const result of CACHE_RESULTS) m.cacheRequests.inc({ model, result }, 0);
}
