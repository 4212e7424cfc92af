import type { Response } from 'express';
import type { GenerationResult } from '../../core/job-contract.ts';
import { followJob } from '../job-follower.ts';
import { isClientFailure, type SubmitOutcome } from '../job-service.ts';
import { SseWriter } from '../sse.ts';
import { openAiError } from './error-body.ts';
import { openAiFinishReason, type ResponseFlavor, type ResponseMeta } from './responses.ts';
import type { OpenAiDeps } from './serve-job.ts';

/**
 * Text sent to a client cannot be taken back. A job retried after its worker died starts its text
 * again; the new attempt is passed on only once it goes beyond what was sent, and only if it
 * repeats it (deterministic requests do; sampled ones usually do not, which ends the stream).
 */
export class AppendOnlyText {
  private sent = '';
  private attempt = '';

  restart(): void {
    this.attempt = '';
  }

  /** The new text to send ('' for none), or undefined if this attempt contradicts what was sent. */
  append(text: string): string | undefined {
    this.attempt += text;
    if (this.attempt.length <= this.sent.length) return this.sent.startsWith(this.attempt) ? '' : undefined;
    if (!this.attempt.startsWith(this.sent)) return undefined;
    const delta = this.attempt.slice(this.sent.length);
    this.sent = this.attempt;
    return delta;
  }

  /** The final text, authoritative: what is still missing from it, or undefined if it contradicts what was sent. */
  finish(text: string): string | undefined {
    this.attempt = '';
    return this.append(text);
  }
}

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
        const code = event.code ?? 'generation_failed';
        await send(openAiError(isClientFailure(code) ? 400 : 502, code, event.message));
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
