import type { Job } from 'bullmq';
import { decodeFailure, publicFailure } from '../core/contract/failure.ts';
import { isFinished, type GenerationResult, type JobData, type JobProgress, type JobStatus } from '../core/job-contract.ts';

/** A job as the native API shows it (`GET /api/v1/jobs/:id`), whatever it is made from. */
export interface JobView {
  id: string;
  status: JobStatus;
  progress: JobProgress;
  result?: GenerationResult;
  error?: { code: string; message: string };
  created_at: string;
  started_at?: string;
  finished_at?: string;
  /** While the job waits: the jobs that run before it under the fair schedule (docs/architecture.md). */
  queue_position?: number;
  links: { self: string; events: string };
}

export function jobLinks(id: string) {
  return { self: `/api/v1/jobs/${id}`, events: `/api/v1/jobs/${id}/events` };
}

const iso = (ms: number | undefined) => (ms === undefined || ms === 0 ? undefined : new Date(ms).toISOString());

/** A job from BullMQ's record and the state it was read in; the status a client sees follows from both. */
export function jobView(job: Job<JobData, GenerationResult>, state: string): JobView {
  const id = job.id ?? '';
  const result = job.returnvalue ?? undefined;
  let status: JobStatus;
  if (state === 'completed') status = result?.finish_reason === 'cancelled' ? 'cancelled' : 'completed';
  else if (state === 'failed') status = 'failed';
  else if (state === 'active') status = 'active';
  else status = 'waiting';
  const progress = typeof job.progress === 'object' && job.progress !== null ? (job.progress as JobProgress) : { tokens: 0 };
  const view: JobView = {
    id,
    status,
    // A job handed back to the queue keeps its last attempt's progress in BullMQ; it starts over, so show 0.
    progress: {
      tokens:
        status === 'completed' || status === 'cancelled'
          ? (result?.usage.completion_tokens ?? 0)
          : status === 'active'
            ? (progress.tokens ?? 0)
            : 0,
    },
    created_at: iso(job.timestamp) ?? new Date().toISOString(),
    links: jobLinks(id),
  };
  const startedAt = iso(job.processedOn);
  if (startedAt) view.started_at = startedAt;
  if (isFinished(status)) {
    const finishedAt = iso(job.finishedOn);
    if (finishedAt) view.finished_at = finishedAt;
  }
  if (result && (status === 'completed' || status === 'cancelled')) view.result = result;
  if (status === 'failed') {
    const { code, message } = publicFailure(decodeFailure(job.failedReason), { attempts: job.attemptsMade, stalls: job.stalledCounter });
    view.error = { code, message };
  }
  return view;
}

/** An answer served from the cache, pollable by its `c-` id while the entry lives. */
export function cachedAnswerView(id: string, result: GenerationResult): JobView {
  const now = new Date().toISOString();
  return { id, status: 'completed', progress: { tokens: result.usage.completion_tokens }, result, created_at: now, finished_at: now, links: jobLinks(id) };
}

/** A waiting job a cancel removed from the queue, from the record kept in its place. */
export function tombstoneJobView(id: string, createdAt: number, finishedAt: number | undefined): JobView {
  return {
    id,
    status: 'cancelled',
    progress: { tokens: 0 },
    created_at: iso(createdAt) ?? '',
    ...(finishedAt === undefined ? {} : { finished_at: iso(finishedAt) ?? '' }),
    links: jobLinks(id),
  };
}
