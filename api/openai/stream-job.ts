import type { Response } from 'express';
import { AppendOnlyText } from '../../core/contract/append-only-text.ts';
import { failureStatus } from '../../core/contract/failure.ts';
import type { GenerationResult } from '../../core/job-contract.ts';
import { followJob } from '../job-follower.ts';
import type { SubmitOutcome } from '../job-service.ts';
import { SseWriter, type SseEvent } from '../sse.ts';
import type { StreamShape } from './answer-format.ts';
import type { OpenAiDeps } from './deps.ts';
import { SentLogprobs } from './sent-logprobs.ts';

/**
 * Streams a job as server-sent events in the shape of its endpoint: the opening events at once (so
 * clients see the response start while the job waits in the queue), text events as tokens arrive,
 * then the end of the answer. A failure mid-stream ends it with the shape's failure events.
 */
export async function streamJob(deps: OpenAiDeps, res: Response, outcome: SubmitOutcome, shape: StreamShape): Promise<void> {
  const sse = new SseWriter(res);
  const send = async (events: SseEvent[]) => {
    for (const event of events) await sse.send(event);
  };
  await send(shape.opening());

  const logprobs = new SentLogprobs();
  const finish = async (result: GenerationResult, rest: string) => {
    const entries = logprobs.rest(result.logprobs);
    if (rest || entries) await send(shape.text(rest, entries));
    await send(shape.finish(result));
  };

  if (outcome.kind === 'cached') {
    await finish(outcome.result, outcome.result.text);
    sse.end();
    return;
  }

  const hold = await deps.holders.hold(outcome);
  const onAbort = () => void hold.release(true);
  sse.signal.addEventListener('abort', onAbort, { once: true });
  const text = new AppendOnlyText();
  const diverged = () =>
    shape.failure(502, 'stream_diverged', 'the generation restarted after a worker failure and produced a different text; retry the request');
  try {
    for await (const { event } of followJob(deps, { id: outcome.id, status: 'waiting' }, { signal: sse.signal })) {
      if (event.type === 'start') {
        text.restart();
        logprobs.restart();
      } else if (event.type === 'token') {
        const delta = text.append(event.text);
        if (delta === undefined) {
          await send(diverged());
          return;
        }
        logprobs.add(event.logprobs);
        if (delta) await send(shape.text(delta, logprobs.take()));
      } else if (event.type === 'end') {
        const rest = text.finish(event.result.text);
        if (rest === undefined) await send(diverged());
        else await finish(event.result, rest);
        return;
      } else {
        const { failure } = event;
        await send(shape.failure(failureStatus(failure), failure.code, failure.message));
        return;
      }
    }
  } catch (error) {
    deps.logger.warn({ err: (error as Error).message, jobId: outcome.id }, 'OpenAI stream failed');
    await send(shape.failure(500, 'stream_failed', 'the stream was interrupted'));
  } finally {
    sse.signal.removeEventListener('abort', onAbort);
    await hold.release(sse.signal.aborted);
    sse.end();
  }
}
