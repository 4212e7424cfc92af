import type { GenerationResult, Usage } from '../../../core/job-contract.ts';
import type { ResponseMeta } from '../responses.ts';
import type {
  OutputMessage,
  OutputText,
  ResponseErrorCode,
  ResponseObject,
  ResponseStatus,
  ResponseUsage,
} from './response-schemas.ts';

export const RESPONSE_ID_PREFIX = 'resp_';

/** What a response repeats of its request, as OpenAI's do: the parameters it ran with. */
export type ResponseEcho = Pick<
  ResponseObject,
  'instructions' | 'max_output_tokens' | 'metadata' | 'parallel_tool_calls' | 'temperature' | 'top_p' | 'user'
>;

/** The one output item's id: the job's, as the response's is. */
export const messageId = (meta: ResponseMeta) => `msg_${meta.id.slice(RESPONSE_ID_PREFIX.length)}`;

export const outputText = (text: string): OutputText => ({ type: 'output_text', text, annotations: [], logprobs: [] });

export function outputMessage(meta: ResponseMeta, status: OutputMessage['status'], content: OutputText[]): OutputMessage {
  return { type: 'message', id: messageId(meta), status, role: 'assistant', content };
}

/**
 * A job that stopped before the model ended its answer (the token limit, a full context, or a
 * cancel) is incomplete: what OpenAI says of a response cut off by `max_output_tokens`, the only
 * reason its clients know for a cut (as `finish_reason: "length"` is in chat completions).
 */
export const resultStatus = (result: GenerationResult): 'completed' | 'incomplete' => (result.finish_reason === 'stop' ? 'completed' : 'incomplete');

function responseUsage({ prompt_tokens, completion_tokens, total_tokens }: Usage): ResponseUsage {
  return {
    input_tokens: prompt_tokens,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens: completion_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens,
  };
}

export interface ResponseState {
  status: ResponseStatus;
  output: OutputMessage[];
  usage?: Usage;
  error?: { code: ResponseErrorCode; message: string };
}

/** The Response object at one point of its life: in progress, ended, or failed. */
export function responseObject(meta: ResponseMeta, echo: ResponseEcho, state: ResponseState): ResponseObject {
  const { user, ...echoed } = echo;
  return {
    id: meta.id,
    object: 'response',
    created_at: meta.created,
    status: state.status,
    completed_at: state.status === 'completed' ? Math.floor(Date.now() / 1000) : null,
    error: state.error ?? null,
    incomplete_details: state.status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    model: meta.model,
    output: state.output,
    ...echoed,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    text: { format: { type: 'text' } },
    tool_choice: 'none',
    tools: [],
    top_logprobs: 0,
    truncation: 'disabled',
    background: false,
    ...(state.usage ? { usage: responseUsage(state.usage) } : {}),
    ...(user === undefined ? {} : { user }),
  };
}

/** The response to a finished job: its answer, whole or cut off. */
export function finishedResponse(meta: ResponseMeta, echo: ResponseEcho, result: GenerationResult): ResponseObject {
  const status = resultStatus(result);
  return responseObject(meta, echo, { status, output: [outputMessage(meta, status, [outputText(result.text)])], usage: result.usage });
}
