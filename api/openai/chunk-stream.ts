import type { GenerationResult, Usage } from '../../core/job-contract.ts';
import type { SseEvent } from '../sse.ts';
import type { ChoicesFormat, ChoicesStreamShape } from './answer-format.ts';
import { openAiError } from './error-body.ts';
import { openAiFinishReason, type ResponseFlavor, type ResponseMeta } from './responses.ts';

const DONE: SseEvent = { data: '[DONE]' };

type Indexed = { choices: { index: number }[] };

/** The flavor's one-choice body or chunk as choice `index`. */
const asChoice = <T extends Indexed>(body: T, index: number): T => ({ ...body, choices: body.choices.map((choice) => ({ ...choice, index })) });

export function sumUsage(results: readonly GenerationResult[]): Usage {
  const usage: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  for (const { usage: each } of results) {
    usage.prompt_tokens += each.prompt_tokens;
    usage.completion_tokens += each.completion_tokens;
    usage.total_tokens += each.total_tokens;
  }
  return usage;
}

/**
 * The answers of the completions endpoints: unnamed `data:` events in OpenAI's chunk format, ending
 * with `[DONE]`. A failure is an `{"error": ...}` event, which OpenAI's clients raise as an error.
 * One choice is the case n = 1 of several.
 */
export function chunked<Full extends Indexed & { usage: Usage }, Chunk extends Indexed>(flavor: ResponseFlavor<Full, Chunk>): ChoicesFormat<Full> {
  const streamChoices = (meta: ResponseMeta, withUsage: boolean): ChoicesStreamShape => {
    // Text sent so far, per choice: where its next chunk's tokens start (completions' `text_offset`).
    const sent: number[] = [];
    return {
      opening: (choices) => {
        const opening = flavor.opening(meta, withUsage);
        return opening ? Array.from({ length: choices }, (_, index) => ({ data: asChoice(opening, index) })) : [];
      },
      text: (index, delta, logprobs) => {
        const offset = sent[index] ?? 0;
        sent[index] = offset + delta.length;
        return [{ data: asChoice(flavor.text(meta, delta, withUsage, logprobs && { entries: logprobs, offset }), index) }];
      },
      finishChoice: (index, result) => [
        ...(result.tool_calls && flavor.toolCalls ? flavor.toolCalls(meta, result.tool_calls, withUsage) : []).map((chunk) => ({ data: asChoice(chunk, index) })),
        { data: asChoice(flavor.finish(meta, openAiFinishReason(result.finish_reason), withUsage), index) },
      ],
      end: (results) => [...(withUsage ? [{ data: flavor.usage(meta, sumUsage(results)) }] : []), DONE],
      failure: (status, code, message) => [{ data: openAiError(status, code, message) }, DONE],
    };
  };
  return {
    idPrefix: flavor.idPrefix,
    full: (meta, result) => flavor.full(meta, result),
    fullChoices: (meta, results) => {
      const answers = results.map((result, index) => asChoice(flavor.full(meta, result), index));
      return { ...answers[0]!, choices: answers.flatMap((answer) => answer.choices), usage: sumUsage(results) };
    },
    streamChoices,
    stream: (meta, withUsage) => {
      const shape = streamChoices(meta, withUsage);
      return {
        opening: () => shape.opening(1),
        text: (delta, logprobs) => shape.text(0, delta, logprobs),
        finish: (result) => [...shape.finishChoice(0, result), ...shape.end([result])],
        failure: (status, code, message) => shape.failure(status, code, message),
      };
    },
  };
}
