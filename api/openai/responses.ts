import type { TokenLogprob } from '../../core/contract/logprobs.ts';
import type { ToolCall } from '../../core/contract/tools.ts';
import type { FinishReason, GenerationResult, Usage } from '../../core/job-contract.ts';
import { chatLogprobs, completionLogprobs } from './logprob-shapes.ts';
import type { ChatCompletion, ChatCompletionChunk, Completion, CompletionChunk, OpenAiFinishReason } from './response-schemas.ts';

/**
 * A job stopped by a cancel (a DELETE, or the disconnect of the client that shared it last) has
 * an incomplete text. OpenAI's vocabulary has no "cancelled"; `length` is what its clients read
 * as "cut off before the model finished", so that is what they get (docs/openai.md).
 */
export function openAiFinishReason(reason: FinishReason): OpenAiFinishReason {
  return reason === 'cancelled' ? 'length' : reason;
}

export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
}

/** How one endpoint shapes its answer and its stream chunks. */
export interface ResponseFlavor<Full, Chunk> {
  idPrefix: string;
  full(meta: ResponseMeta, result: GenerationResult): Full;
  /** The chunk sent before any text (chat announces the role), if the flavor has one. */
  opening(meta: ResponseMeta, withUsage: boolean): Chunk | undefined;
  /** `logprobs`: of the tokens of `text`, when the request asked for them; `offset`: the length of the text sent before. */
  text(meta: ResponseMeta, text: string, withUsage: boolean, logprobs?: ChunkLogprobs): Chunk;
  finish(meta: ResponseMeta, reason: OpenAiFinishReason, withUsage: boolean): Chunk;
  /** The chunks of the calls that ended the answer, sent before its finish (chat only). */
  toolCalls?(meta: ResponseMeta, calls: ToolCall[], withUsage: boolean): Chunk[];
  usage(meta: ResponseMeta, usage: Usage): Chunk;
}

export interface ChunkLogprobs {
  entries: TokenLogprob[];
  offset: number;
}

const usageOf = ({ prompt_tokens, completion_tokens, total_tokens }: Usage) => ({ prompt_tokens, completion_tokens, total_tokens });
// With include_usage, OpenAI sends `usage: null` on every chunk but the last.
const nullUsage = (withUsage: boolean) => (withUsage ? { usage: null } : {});

export const completionFlavor: ResponseFlavor<Completion, CompletionChunk> = {
  idPrefix: 'cmpl-',
  full: (meta, result) => ({
    ...meta,
    object: 'text_completion',
    choices: [
      {
        index: 0,
        text: result.text,
        logprobs: result.logprobs ? completionLogprobs(result.logprobs) : null,
        finish_reason: openAiFinishReason(result.finish_reason),
      },
    ],
    usage: usageOf(result.usage),
  }),
  opening: () => undefined,
  text: (meta, text, withUsage, logprobs) => ({
    ...meta,
    object: 'text_completion',
    choices: [{ index: 0, text, logprobs: logprobs ? completionLogprobs(logprobs.entries, logprobs.offset) : null, finish_reason: null }],
    ...nullUsage(withUsage),
  }),
  finish: (meta, reason, withUsage) => ({
    ...meta,
    object: 'text_completion',
    choices: [{ index: 0, text: '', logprobs: null, finish_reason: reason }],
    ...nullUsage(withUsage),
  }),
  usage: (meta, usage) => ({ ...meta, object: 'text_completion', choices: [], usage: usageOf(usage) }),
};

export const chatFlavor: ResponseFlavor<ChatCompletion, ChatCompletionChunk> = {
  idPrefix: 'chatcmpl-',
  full: (meta, result) => ({
    ...meta,
    object: 'chat.completion',
    choices: [
      {
        index: 0,
        message: chatMessage(result),
        logprobs: result.logprobs ? chatLogprobs(result.logprobs) : null,
        finish_reason: openAiFinishReason(result.finish_reason),
      },
    ],
    usage: usageOf(result.usage),
  }),
  opening: (meta, withUsage) => ({
    ...meta,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
    ...nullUsage(withUsage),
  }),
  text: (meta, text, withUsage, logprobs) => ({
    ...meta,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta: { content: text }, logprobs: logprobs ? chatLogprobs(logprobs.entries) : null, finish_reason: null }],
    ...nullUsage(withUsage),
  }),
  finish: (meta, reason, withUsage) => ({
    ...meta,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: reason }],
    ...nullUsage(withUsage),
  }),
  // As OpenAI streams a call: a first delta names it, the next carries its arguments.
  toolCalls: (meta, calls, withUsage) =>
    calls.flatMap((call, index) =>
      [
        { index, id: call.id, type: 'function' as const, function: { name: call.name, arguments: '' } },
        { index, function: { arguments: call.arguments } },
      ].map((delta) => ({
        ...meta,
        object: 'chat.completion.chunk' as const,
        choices: [{ index: 0, delta: { tool_calls: [delta] }, logprobs: null, finish_reason: null }],
        ...nullUsage(withUsage),
      })),
    ),
  usage: (meta, usage) => ({ ...meta, object: 'chat.completion.chunk', choices: [], usage: usageOf(usage) }),
};

/** The assistant's message: its text, and the calls it made (content is then null when it wrote nothing else, as OpenAI's). */
function chatMessage(result: GenerationResult): ChatCompletion['choices'][number]['message'] {
  if (!result.tool_calls) return { role: 'assistant', content: result.text, refusal: null };
  return {
    role: 'assistant',
    content: result.text === '' ? null : result.text,
    refusal: null,
    tool_calls: result.tool_calls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })),
  };
}
