import type { Response } from 'express';
import { failureAppError } from '../../core/contract/failure.ts';
import { isFinished, type GenerationResult } from '../../core/job-contract.ts';
import { cancelledBeforeStart } from '../job-follower.ts';
import type { JobService, JobView, SubmitOutcome } from '../job-service.ts';
import type { OpenAiDeps } from './deps.ts';
import type { ResponseFlavor, ResponseMeta } from './responses.ts';
import { streamJob } from './stream-job.ts';
import type { OpenAiJob } from './to-submission.ts';

/** How long one wait on the queue's events lasts before the client's connection is looked at again. */
const WAIT_SLICE_MS = 10_000;

/**
 * Runs an OpenAI request as a job of the shared queue (priority, retries, cache, in-flight sharing
 * and metrics as for native jobs) and answers it whole or as a stream.
 */
export async function serveJob<Full, Chunk>(
  deps: OpenAiDeps,
  res: Response,
  job: OpenAiJob,
  flavor: ResponseFlavor<Full, Chunk>,
): Promise<void> {
  const outcome = await deps.jobs.submit(job.submission);
  // The job behind the answer, for GET /api/v1/jobs/{id} and its /events.
  res.setHeader('x-job-id', outcome.id);
  const meta: ResponseMeta = { id: `${flavor.idPrefix}${outcome.id}`, created: Math.floor(Date.now() / 1000), model: deps.modelId };
  if (job.stream) {
    await streamJob(deps, res, outcome, meta, flavor, job.includeUsage);
    return;
  }
  if (outcome.kind === 'cached') {
    res.json(flavor.full(meta, outcome.result));
    return;
  }
  const hold = await deps.holders.hold(outcome);
  let gone = false;
  const onClose = () => {
    if (res.writableFinished) return;
    gone = true;
    void hold.release(true);
  };
  res.once('close', onClose);
  // The client may have left while the job was being submitted.
  if (res.closed) onClose();
  try {
    const view = await waitUntilFinal(deps.jobs, outcome, () => gone);
    if (gone) return;
    res.json(flavor.full(meta, resultOf(view, deps.modelId)));
  } finally {
    await hold.release(false);
  }
}

async function waitUntilFinal(jobs: JobService, outcome: Extract<SubmitOutcome, { kind: 'queued' }>, gone: () => boolean): Promise<JobView> {
  for (;;) {
    const view = await jobs.waitFor(outcome.job, WAIT_SLICE_MS);
    if (isFinished(view.status) || gone()) return view;
  }
}

/** The result of a finished job, or the error its client should get. */
export function resultOf(view: JobView, modelId: string): GenerationResult {
  // 400 when the request itself was at fault (e.g. a prompt longer than the context).
  if (view.status === 'failed') throw failureAppError(view.error ?? { code: 'generation_failed', message: 'generation failed' });
  return view.result ?? cancelledBeforeStart(modelId);
}
