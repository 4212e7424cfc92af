import type { Response } from 'express';
import { AppendOnlyText } from '../../core/contract/append-only-text.ts';
import { failureStatus } from '../../core/contract/failure.ts';
import type { GenerationResult } from '../../core/job-contract.ts';
import { followJob } from '../job-follower.ts';
import type { SubmitOutcome } from '../job-service.ts';
import { SseWriter, type SseEvent } from '../sse.ts';
import type { ChoicesStreamShape, StreamShape } from './answer-format.ts';
import type { OpenAiDeps } from './deps.ts';
import { SentLogprobs } from './sent-logprobs.ts';

/**
 * Streams a job as server-sent events in the shape of its endpoint: the opening events at once (so
 * clients see the response start while the job waits in the queue), text events as tokens arrive,
 * then the end of the answer. A failure mid-stream ends it with the shape's failure events.
 */
export async function streamJob(deps: OpenAiDeps, res: Response, outcome: SubmitOutcome, shape: StreamShape): Promise<void> {
  await streamChoices(deps, res, [outcome], {
    opening: () => shape.opening(),
    text: (_index, delta, logprobs) => shape.text(delta, logprobs),
    finishChoice: (_index, result) => shape.finish(result),
    end: () => [],
    failure: (status, code, message) => shape.failure(status, code, message),
  });
}

/**
 * Streams the jobs of an answer's choices (`n`) together, each choice's events as its job
 * produces them. The answer ends once every choice has finished; the first failure ends it for all.
 */
export async function streamChoices(deps: OpenAiDeps, res: Response, outcomes: SubmitOutcome[], shape: ChoicesStreamShape): Promise<void> {
  const sse = new SseWriter(res);
  // Each choice sends its events in order; events of different choices may interleave.
  const send = async (events: SseEvent[]) => {
    for (const event of events) await sse.send(event);
  };
  await send(shape.opening(outcomes.length));

  // Aborted by the first failure: the other choices stop following their jobs.
  const failed = new AbortController();
  const signal = AbortSignal.any([sse.signal, failed.signal]);
  const fail = async (events: SseEvent[]) => {
    if (failed.signal.aborted) return;
    failed.abort();
    await send(events);
  };
  const holds = await Promise.all(outcomes.map((outcome) => (outcome.kind === 'cached' ? undefined : deps.holders.hold(outcome))));
  const onAbort = () => {
    for (const hold of holds) void hold?.release(true);
  };
  sse.signal.addEventListener('abort', onAbort, { once: true });

  const follow = async (outcome: SubmitOutcome, index: number): Promise<GenerationResult | undefined> => {
    const logprobs = new SentLogprobs();
    const finish = async (result: GenerationResult, rest: string) => {
      const entries = logprobs.rest(result.logprobs);
      if (rest || entries) await send(shape.text(index, rest, entries));
      await send(shape.finishChoice(index, result));
      return result;
    };
    if (outcome.kind === 'cached') return await finish(outcome.result, outcome.result.text);

    const text = new AppendOnlyText();
    const diverged = () =>
      shape.failure(502, 'stream_diverged', 'the generation restarted after a worker failure and produced a different text; retry the request');
    try {
      for await (const { event } of followJob(deps, { id: outcome.id, status: 'waiting' }, { signal })) {
        if (event.type === 'start') {
          text.restart();
          logprobs.restart();
        } else if (event.type === 'token') {
          const delta = text.append(event.text);
          if (delta === undefined) {
            await fail(diverged());
            return undefined;
          }
          logprobs.add(event.logprobs);
          if (delta) await send(shape.text(index, delta, logprobs.take()));
        } else if (event.type === 'end') {
          const rest = text.finish(event.result.text);
          if (rest === undefined) {
            await fail(diverged());
            return undefined;
          }
          return await finish(event.result, rest);
        } else {
          const { failure } = event;
          await fail(shape.failure(failureStatus(failure), failure.code, failure.message));
          return undefined;
        }
      }
    } catch (error) {
      deps.logger.warn({ err: (error as Error).message, jobId: outcome.id }, 'OpenAI stream failed');
      await fail(shape.failure(500, 'stream_failed', 'the stream was interrupted'));
    }
    return undefined;
  };

  try {
    const results = await Promise.all(outcomes.map(follow));
    const finished = results.filter((result) => result !== undefined);
    if (finished.length === outcomes.length) await send(shape.end(finished));
  } finally {
    sse.signal.removeEventListener('abort', onAbort);
    await Promise.all(holds.map((hold) => hold?.release(sse.signal.aborted)));
    sse.end();
  }
}
