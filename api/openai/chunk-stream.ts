import type { SseEvent } from '../sse.ts';
import type { AnswerFormat } from './answer-format.ts';
import { openAiError } from './error-body.ts';
import { openAiFinishReason, type ResponseFlavor } from './responses.ts';

const DONE: SseEvent = { data: '[DONE]' };

/**
 * The answers of the completions endpoints: unnamed `data:` events in OpenAI's chunk format, ending
 * with `[DONE]`. A failure is an `{"error": ...}` event, which OpenAI's clients raise as an error.
 */
export function chunked<Full, Chunk>(flavor: ResponseFlavor<Full, Chunk>): AnswerFormat<Full> {
  return {
    idPrefix: flavor.idPrefix,
    full: (meta, result) => flavor.full(meta, result),
    stream: (meta, withUsage) => {
      // Text sent so far: where the next chunk's tokens start (completions' `text_offset`).
      let sent = 0;
      return {
        opening: () => {
          const opening = flavor.opening(meta, withUsage);
          return opening ? [{ data: opening }] : [];
        },
        text: (delta, logprobs) => {
          const offset = sent;
          sent += delta.length;
          return [{ data: flavor.text(meta, delta, withUsage, logprobs && { entries: logprobs, offset }) }];
        },
        finish: (result) => [
          { data: flavor.finish(meta, openAiFinishReason(result.finish_reason), withUsage) },
          ...(withUsage ? [{ data: flavor.usage(meta, result.usage) }] : []),
          DONE,
        ],
        failure: (status, code, message) => [{ data: openAiError(status, code, message) }, DONE],
      };
    },
  };
}
