import { textAfter } from '../core/contract/append-only-text.ts';
import { publicFailure, type JobFailure } from '../core/contract/failure.ts';
import type { JobStreamEvent } from '../core/contract/stream-events.ts';
import { AppError } from '../core/errors.ts';
import { isFinished, type GenerationResult } from '../core/job-contract.ts';
import { SYSTEM_VIEWER, type JobService } from './job-service.ts';
import type { JobView } from './job-view.ts';
import type { JobStateWatcher, JobWatch } from './job-state-watcher.ts';
import type { JobStreamReader } from './job-stream-reader.ts';

/**
 * An event of a followed job; `id` is set when it comes from the job's stream (and so can be
 * resumed after). An `error` event's failure is always what the client may be told.
 */
export interface FollowedEvent {
  id?: string;
  event: JobStreamEvent;
}

export interface FollowOptions {
  /** Resume after this stream entry id (SSE `Last-Event-ID`); default: from the start. */
  afterId?: string;
  signal: AbortSignal;
  /** Silence after which the follower looks at what the process knows of the job's state (ms). */
  probeMs?: number;
  /**
   * Told the job's queue position (the jobs that run before it) while it waits, whenever the
   * process's job state watcher has learnt a new one; it is looked at every `positionProbeMs`.
   */
  onPosition?: (position: number) => Promise<void> | void;
  positionProbeMs?: number;
}

/** How often a follower with `onPosition` looks at the watcher's position of its waiting job (in memory). */
const POSITION_PROBE_MS = 500;

/**
 * A job's events from start to end, for any job id the API knows: replays its stream, follows it
 * live, and always terminates with `end` or `error`. The stream is written best effort (a worker
 * that lost Redis for a moment may skip events), and some jobs never had one (answers from the
 * cache, waiting jobs removed by a cancel), so whenever the stream is silent for `probeMs` the
 * follower asks the process's job state watcher (in memory) whether the job has finished or gone;
 * only then is the job read, and a finished job's ending made from its stored result. A job that
 * is still waiting or running costs Redis nothing per follower; so does its queue position, which
 * the watcher reads for all followed jobs at once.
 */
export async function* followJob(
  deps: { jobs: JobService; streams: JobStreamReader; jobStates: JobStateWatcher; modelId: string },
  initial: Pick<JobView, 'id' | 'status'>,
  options: FollowOptions,
): AsyncGenerator<FollowedEvent> {
  const cursor = deps.streams.open(initial.id, options.afterId);
  const abort = () => cursor.close();
  options.signal.addEventListener('abort', abort, { once: true });
  // Text of the current attempt so far, to complete it from the stored result if needed; unknown
  // to a client resuming mid-stream until an attempt starts.
  let text: string | undefined = options.afterId === undefined ? '' : undefined;
  let attempt = 1;
  // A job already finished is read at the first silence; any other is watched until it settles.
  let watch: JobWatch | undefined = isFinished(initial.status) ? undefined : deps.jobStates.watch(initial.id);
  // Positions are told until the job's first run starts.
  let waiting = options.onPosition !== undefined;
  let told: number | undefined;
  try {
    while (!options.signal.aborted) {
      const probeMs = options.probeMs ?? 2000;
      const entries = await cursor.next(watch ? (waiting ? Math.min(probeMs, options.positionProbeMs ?? POSITION_PROBE_MS) : probeMs) : 0);
      if (waiting && entries.length === 0 && watch?.position !== undefined && watch.position !== told) {
        told = watch.position;
        await options.onPosition?.(told);
      }
      for (const { id, event } of entries) {
        waiting = false;
        if (event.type === 'start') {
          text = '';
          attempt = event.attempt;
        }
        if (event.type === 'token' && text !== undefined) text += event.text;
        if (event.type === 'error') {
          // Workers write raw reasons; clients get them only for their own mistakes (as from GET /api/v1/jobs/:id).
          yield { id, event: { type: 'error', failure: publicFailure(event.failure, { attempts: attempt }) } };
          return;
        }
        yield { id, event };
        if (event.type === 'end') return;
      }
      if (entries.length > 0 || options.signal.aborted) continue;
      if (watch && !watch.settled) continue;
      const ending = endingFromView(await viewOrGone(deps.jobs, initial.id), text, deps.modelId);
      if (ending) {
        for (const event of ending) yield { event };
        return;
      }
      if (watch) watch.unsettle();
      else watch = deps.jobStates.watch(initial.id);
    }
  } finally {
    options.signal.removeEventListener('abort', abort);
    cursor.close();
    watch?.close();
  }
}

async function viewOrGone(jobs: JobService, id: string): Promise<JobView | undefined> {
  try {
    return await jobs.get(id, SYSTEM_VIEWER);
  } catch (error) {
    if (error instanceof AppError && error.status === 404) return undefined;
    throw error;
  }
}

/** The closing events of a finished job, or undefined while it still runs. */
function endingFromView(view: JobView | undefined, text: string | undefined, modelId: string): JobStreamEvent[] | undefined {
  if (!view) return [{ type: 'error', failure: shown('not_found', 'the job no longer exists (its retention has passed)') }];
  if (!isFinished(view.status)) return undefined;
  if (view.status === 'failed') {
    const { code, message } = view.error ?? { code: 'generation_failed', message: 'generation failed' };
    return [{ type: 'error', failure: shown(code, message) }];
  }
  const result = view.result ?? cancelledBeforeStart(modelId);
  // Without the text so far (or if it diverged), `end` alone: its result's text is authoritative.
  const rest = text === undefined ? '' : (textAfter(text, result.text) ?? '');
  return [
    ...(rest ? [{ type: 'token' as const, text: rest, tokens: result.usage.completion_tokens }] : []),
    { type: 'end', result },
  ];
}

/** A failure as already described for clients (a job view's error). */
const shown = (code: string, message: string): JobFailure => ({ code, message, retryable: false, expose: true });

/** What a job removed from the queue by a cancel produced: nothing. */
export function cancelledBeforeStart(model: string): GenerationResult {
  return {
    text: '',
    finish_reason: 'cancelled',
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    model,
    cached: false,
    timings: { queued_ms: 0, ttft_ms: 0, generation_ms: 0, tokens_per_second: 0 },
  };
}
