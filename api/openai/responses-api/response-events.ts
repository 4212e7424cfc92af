import type { SseEvent } from '../../sse.ts';
import type { StreamShape } from '../answer-format.ts';
import { openAiError } from '../error-body.ts';
import type { ResponseMeta } from '../responses.ts';
import {
  finishedResponse,
  messageId,
  outputMessage,
  outputText,
  responseObject,
  resultStatus,
  type ResponseEcho,
} from './response-object.ts';
import type { ResponseErrorCode, ResponseStreamEvent } from './response-schemas.ts';

type Unnumbered<E> = E extends unknown ? Omit<E, 'sequence_number'> : never;

/** The code of OpenAI's `ResponseError` for a failure's HTTP status: its clients know only a few. */
function responseErrorCode(status: number): ResponseErrorCode {
  if (status === 429) return 'rate_limit_exceeded';
  return status < 500 ? 'invalid_prompt' : 'server_error';
}

/**
 * A streamed response in OpenAI's events, each named (`event:`) like its `type` and numbered from
 * 0. At once: `response.created`, `response.in_progress`, the message item and its text part
 * added; then `response.output_text.delta` per piece of text; at the end the text, the part and
 * the item done, and `response.completed` (or `response.incomplete` when cut off, as OpenAI
 * sends). A failure ends the stream with `response.failed`, then an `error` event.
 */
export function responseEvents(meta: ResponseMeta, echo: ResponseEcho): StreamShape {
  let sequence = 0;
  // What the client has received, for the partial output of a failed response.
  let streamed = '';
  const at = { item_id: messageId(meta), output_index: 0, content_index: 0 };
  const events = (...bodies: Unnumbered<ResponseStreamEvent>[]): SseEvent[] =>
    bodies.map((body) => ({ event: body.type, data: { ...body, sequence_number: sequence++ } }));

  return {
    opening: () => {
      const response = responseObject(meta, echo, { status: 'in_progress', output: [] });
      return events(
        { type: 'response.created', response },
        { type: 'response.in_progress', response },
        { type: 'response.output_item.added', output_index: 0, item: outputMessage(meta, 'in_progress', []) },
        { type: 'response.content_part.added', ...at, part: outputText('') },
      );
    },
    text: (delta) => {
      streamed += delta;
      return events({ type: 'response.output_text.delta', ...at, delta, logprobs: [] });
    },
    finish: (result) => {
      const status = resultStatus(result);
      const part = outputText(result.text);
      return events(
        { type: 'response.output_text.done', ...at, text: result.text, logprobs: [] },
        { type: 'response.content_part.done', ...at, part },
        { type: 'response.output_item.done', output_index: 0, item: outputMessage(meta, status, [part]) },
        { type: status === 'completed' ? 'response.completed' : 'response.incomplete', response: finishedResponse(meta, echo, result) },
      );
    },
    failure: (status, code, message) => {
      const output = [outputMessage(meta, 'incomplete', [outputText(streamed)])];
      const failed = responseObject(meta, echo, { status: 'failed', output, error: { code: responseErrorCode(status), message } });
      // The error event carries the error twice: at its top level, as OpenAI's types describe it,
      // and nested as OpenAI's servers send it, which is what makes the official clients raise it.
      return events(
        { type: 'response.failed', response: failed },
        { type: 'error', code, message, param: null, error: openAiError(status, code, message).error },
      );
    },
  };
}
