import type { Response } from 'express';
import { failureAppError } from '../../core/contract/failure.ts';
import { isFinished, type GenerationResult } from '../../core/job-contract.ts';
import { cancelledBeforeStart } from '../job-follower.ts';
import { SYSTEM_VIEWER, type JobService, type Submission, type SubmitOutcome } from '../job-service.ts';
import type { JobView } from '../job-view.ts';
import type { JobWatch } from '../job-state-watcher.ts';
import type { OpenAiDeps } from './deps.ts';
import type { AnswerFormat, ChoicesFormat } from './answer-format.ts';
import { choiceSubmissions } from './choices.ts';
import type { ResponseMeta } from './responses.ts';
import { streamChoices, streamJob } from './stream-job.ts';
import type { OpenAiJob } from './to-submission.ts';

/**
 * Runs an OpenAI request as a job of the shared queue (priority, retries, cache, in-flight sharing
 * and metrics as for native jobs) and answers it whole or as a stream.
 */
export async function serveJob<Full>(deps: OpenAiDeps, res: Response, job: OpenAiJob, format: AnswerFormat<Full> | ChoicesFormat<Full>): Promise<void> {
  if (job.choices > 1 && 'fullChoices' in format) {
    await serveChoices(deps, res, job, format);
    return;
  }
  // Before the job is submitted: a refused stream must leave no job behind.
  if (job.stream) deps.streamCap.take(res);
  const outcome = await deps.jobs.submit(job.submission);
  // The job behind the answer, for GET /api/v1/jobs/{id} and its /events.
  res.setHeader('x-job-id', outcome.id);
  const meta: ResponseMeta = { id: `${format.idPrefix}${outcome.id}`, created: Math.floor(Date.now() / 1000), model: deps.lanes.shownId(job.submission.model) };
  if (job.stream) {
    await streamJob(deps, res, outcome, format.stream(meta, job.includeUsage));
    return;
  }
  const result = outcome.kind === 'cached' ? outcome.result : await awaitResult(deps, res, outcome);
  if (result) res.json(format.full(meta, result));
}

/**
 * An answer of several choices (`n`): one job per choice, submitted together (choices.ts), answered
 * whole once all have finished, or streamed together. The id and `x-job-id` name the first choice's job.
 */
async function serveChoices<Full>(deps: OpenAiDeps, res: Response, job: OpenAiJob, format: ChoicesFormat<Full>): Promise<void> {
  if (job.stream) deps.streamCap.take(res);
  const outcomes = await submitAll(deps, choiceSubmissions(job.submission, job.choices));
  const first = outcomes[0]!;
  res.setHeader('x-job-id', first.id);
  const meta: ResponseMeta = { id: `${format.idPrefix}${first.id}`, created: Math.floor(Date.now() / 1000), model: deps.lanes.shownId(job.submission.model) };
  if (job.stream) {
    await streamChoices(deps, res, outcomes, format.streamChoices(meta, job.includeUsage));
    return;
  }
  const results = await Promise.all(outcomes.map((outcome) => (outcome.kind === 'cached' ? outcome.result : awaitResult(deps, res, outcome))));
  const finished = results.filter((result) => result !== undefined);
  if (finished.length === results.length) res.json(format.fullChoices(meta, finished));
}

/**
 * Every choice's job, or none: when one is refused (the tenant's job limit, a full queue), the
 * others are let go as a client that leaves lets its job go (cancelled unless shared), and the
 * refusal is the answer.
 */
async function submitAll(deps: OpenAiDeps, submissions: Submission[]): Promise<SubmitOutcome[]> {
  const settled = await Promise.allSettled(submissions.map((submission) => deps.jobs.submit(submission)));
  const refused = settled.find((each) => each.status === 'rejected');
  if (!refused) return settled.map((each) => (each as PromiseFulfilledResult<SubmitOutcome>).value);
  await Promise.all(
    settled.map(async (each) => {
      if (each.status === 'fulfilled' && each.value.kind === 'queued') await (await deps.holders.hold(each.value)).release(true);
    }),
  );
  throw refused.reason;
}

/**
 * The result of a queued job once it has finished, while its client waits; undefined if the client
 * leaves first (which may cancel the job: job-holders.ts). A failed job throws the error its client
 * gets.
 */
export async function awaitResult(deps: OpenAiDeps, res: Response, outcome: Extract<SubmitOutcome, { kind: 'queued' }>): Promise<GenerationResult | undefined> {
  // Watched from now: a job that finishes while the hold below registers is not missed.
  const watch = deps.jobStates.watch(outcome.id);
  try {
    const hold = await deps.holders.hold(outcome);
    const gone = new AbortController();
    const onClose = () => {
      if (res.writableFinished) return;
      gone.abort();
      void hold.release(true);
    };
    res.once('close', onClose);
    // The client may have left while the job was being submitted.
    if (res.closed) onClose();
    try {
      const view = await waitUntilFinal(deps.jobs, watch, outcome.id, gone.signal);
      return view && resultOf(view, deps.modelId);
    } finally {
      await hold.release(false);
    }
  } finally {
    watch.close();
  }
}

/**
 * The job's view once it has finished, or undefined if the client leaves first. The wait is on
 * the process's job state watcher, so it costs Redis nothing however long it lasts: the job is
 * read once, when the watcher has learnt that it finished (or is gone).
 */
async function waitUntilFinal(jobs: JobService, watch: JobWatch, id: string, gone: AbortSignal): Promise<JobView | undefined> {
  for (;;) {
    await watch.whenSettled(gone);
    if (gone.aborted) return undefined;
    const view = await jobs.get(id, SYSTEM_VIEWER);
    if (isFinished(view.status)) return view;
    watch.unsettle();
  }
}

/** The result of a finished job, or the error its client should get. */
export function resultOf(view: JobView, modelId: string): GenerationResult {
  // 400 when the request itself was at fault (e.g. a prompt longer than the context).
  if (view.status === 'failed') throw failureAppError(view.error ?? { code: 'generation_failed', message: 'generation failed' });
  return view.result ?? cancelledBeforeStart(modelId);
}
