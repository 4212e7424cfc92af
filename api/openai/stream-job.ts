import type { Response } from 'express';
import { AppendOnlyText } from '../../core/contract/append-only-text.ts';
import { failureStatus } from '../../core/contract/failure.ts';
import type { GenerationResult } from '../../core/job-contract.ts';
import { followJob } from '../job-follower.ts';
import type { SubmitOutcome } from '../job-service.ts';
import { SseWriter } from '../sse.ts';
import type { OpenAiDeps } from './deps.ts';
import { openAiError } from './error-body.ts';
import { openAiFinishReason, type ResponseFlavor, type ResponseMeta } from './responses.ts';

const DONE = '[DONE]';

/**
 * Streams a job in OpenAI's chunk format: the opening chunk at once (so clients see the response
 * start while the job waits in the queue), text chunks as tokens arrive, the chunk with the
 * finish reason, the usage chunk when asked for, then `[DONE]`. A failure mid-stream is sent as
 * an `{"error": ...}` event, which OpenAI's clients raise as an error, followed by `[DONE]`.
 */
export async function streamJob<Full, Chunk>(
  deps: OpenAiDeps,
  res: Response,
  outcome: SubmitOutcome,
  meta: ResponseMeta,
  flavor: ResponseFlavor<Full, Chunk>,
  withUsage: boolean,
): Promise<void> {
  const sse = new SseWriter(res);
  const send = (data: unknown) => sse.send({ data });
  const opening = flavor.opening(meta, withUsage);
  if (opening) await send(opening);

  const finish = async (result: GenerationResult, rest: string) => {
    if (rest) await send(flavor.text(meta, rest, withUsage));
    await send(flavor.finish(meta, openAiFinishReason(result.finish_reason), withUsage));
    if (withUsage) await send(flavor.usage(meta, result.usage));
    await send(DONE);
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
  const diverged = () => openAiError(502, 'stream_diverged', 'the generation restarted after a worker failure and produced a different text; retry the request');
  try {
    for await (const { event } of followJob(deps, { id: outcome.id, status: 'waiting' }, { signal: sse.signal })) {
      if (event.type === 'start') {
        text.restart();
      } else if (event.type === 'token') {
        const delta = text.append(event.text);
        if (delta === undefined) {
          await send(diverged());
          await send(DONE);
          return;
        }
        if (delta) await send(flavor.text(meta, delta, withUsage));
      } else if (event.type === 'end') {
        const rest = text.finish(event.result.text);
        if (rest === undefined) {
          await send(diverged());
          await send(DONE);
        } else await finish(event.result, rest);
        return;
      } else {
        const { failure } = event;
        await send(openAiError(failureStatus(failure), failure.code, failure.message));
        await send(DONE);
        return;
      }
    }
  } catch (error) {
    deps.logger.warn({ err: (error as Error).message, jobId: outcome.id }, 'OpenAI stream failed');
    await send(openAiError(500, 'stream_failed', 'the stream was interrupted'));
    await send(DONE);
  } finally {
    sse.signal.removeEventListener('abort', onAbort);
    await hold.release(sse.signal.aborted);
    sse.end();
  }
}
