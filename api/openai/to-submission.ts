import { toJobPenalties, type PenaltyRequest } from '../../core/contract/penalties.ts';
import { toJobResponseFormat, type ResponseFormatRequest } from '../../core/contract/response-format.ts';
import { toJobTools } from '../../core/contract/tools.ts';
import { badRequest } from '../../core/errors.ts';
import { DEFAULT_PRIORITY, type ChatMessage, type RequestLimits, type Sampling } from '../../core/job-contract.ts';
import type { Submission } from '../job-service.ts';
import type { ModelResolver } from '../model-lanes.ts';
import type { ChatCompletionRequest, ChatRequestMessage, CompletionRequest } from './request-schemas.ts';

/** OpenAI's defaults, not the native API's: an OpenAI client that sends nothing gets what OpenAI would do. */
export const OPENAI_DEFAULT_TEMPERATURE = 1;
export const OPENAI_DEFAULT_TOP_P = 1;

export interface OpenAiJob {
  submission: Submission;
  /** `n`: how many choices, each a job of `submission` (choices.ts). */
  choices: number;
  stream: boolean;
  includeUsage: boolean;
}

/** What any OpenAI request says about its job, whatever its endpoint. */
export interface JobOptions extends PenaltyRequest {
  /** JSON output enforced by a grammar (chat, and completions as an extension). */
  response_format?: ResponseFormatRequest | null;
  model: string;
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  priority?: number | null;
  cache?: boolean | null;
}

/** Who a job is for and what it may ask: the same for every request of one route. */
export interface JobContext {
  limits: RequestLimits;
  /** The deployment's models: a request's `model` must name one (404 `model_not_found` otherwise). */
  models: ModelResolver;
  tenant: string;
}

type StreamRequest = Pick<ChatCompletionRequest, 'stream' | 'stream_options'>;

function streaming(request: StreamRequest): Pick<OpenAiJob, 'stream' | 'includeUsage'> {
  const stream = request.stream ?? false;
  if (!stream && request.stream_options != null) throw badRequest('invalid_value', 'stream_options is only allowed with stream: true', 'stream_options');
  return { stream, includeUsage: stream && (request.stream_options?.include_usage ?? false) };
}

function sampling(request: JobOptions, maxTokens: number | null | undefined, limits: RequestLimits): Sampling {
  const stop = typeof request.stop === 'string' ? [request.stop] : (request.stop ?? []);
  const responseFormat = toJobResponseFormat(request.response_format, stop);
  return {
    max_tokens: maxTokens ?? limits.defaultMaxTokens,
    temperature: request.temperature ?? OPENAI_DEFAULT_TEMPERATURE,
    top_p: request.top_p ?? OPENAI_DEFAULT_TOP_P,
    top_k: request.top_k ?? 0,
    ...(request.seed == null ? {} : { seed: request.seed }),
    stop,
    ...toJobPenalties(request),
    ...(responseFormat ? { response_format: responseFormat } : {}),
  };
}

function queueOptions(request: JobOptions, models: ModelResolver): Pick<Submission, 'priority' | 'cache' | 'model'> {
  return { priority: request.priority ?? DEFAULT_PRIORITY, cache: request.cache ?? true, model: models.resolve(request.model) };
}

export function completionJob(request: CompletionRequest, { limits, models, tenant }: JobContext): OpenAiJob {
  const options = queueOptions(request, models);
  const prompt = typeof request.prompt === 'string' ? request.prompt : request.prompt[0];
  return {
    submission: { tenant, input: { prompt }, sampling: withLogprobs(sampling(request, request.max_tokens, limits), request.logprobs), ...options },
    choices: request.n ?? 1,
    ...streaming(request),
  };
}

const textOf = (content: NonNullable<ChatRequestMessage['content']>) => (typeof content === 'string' ? content : content.map((part) => part.text).join('\n'));

export function chatJob(request: ChatCompletionRequest, context: JobContext): OpenAiJob {
  const messages = toJobMessages(request.messages);
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  const submission = chatSubmission(request, messages, maxTokens, context, 'messages');
  const tools = toJobTools(request, submission.sampling.response_format);
  const sampling = withLogprobs(submission.sampling, chatLogprobs(request));
  return {
    submission: { ...submission, sampling: tools ? { ...sampling, tools } : sampling },
    choices: request.n ?? 1,
    ...streaming(request),
  };
}

/**
 * The conversation as a job's messages. An assistant's calls keep their ids, so that each `tool`
 * message is shown to the model as the result of the call it answers, which must be an earlier one.
 */
function toJobMessages(messages: readonly ChatRequestMessage[]): ChatMessage[] {
  const calls = new Set<string>();
  return messages.map((message, i): ChatMessage => {
    if (message.role === 'tool') {
      if (!calls.has(message.tool_call_id)) {
        throw badRequest('invalid_value', `messages[${i}].tool_call_id: ${message.tool_call_id} is not the id of a call in an earlier assistant message`, `messages[${i}].tool_call_id`);
      }
      return { role: 'tool', content: textOf(message.content), tool_call_id: message.tool_call_id };
    }
    if (message.role !== 'assistant') return { role: message.role === 'developer' ? 'system' : message.role, content: textOf(message.content) };
    const toolCalls = (message.tool_calls ?? []).map((call, j) => {
      if (!isJson(call.function.arguments)) {
        throw badRequest('invalid_value', `messages[${i}].tool_calls[${j}].function.arguments must be JSON text`, `messages[${i}].tool_calls[${j}].function.arguments`);
      }
      calls.add(call.id);
      return { id: call.id, name: call.function.name, arguments: call.function.arguments };
    });
    if (message.content == null && toolCalls.length === 0) throw badRequest('invalid_value', `messages[${i}]: an assistant message needs content or tool_calls`, `messages[${i}].content`);
    const content = message.content == null ? '' : textOf(message.content);
    return toolCalls.length > 0 ? { role: 'assistant', content, tool_calls: toolCalls } : { role: 'assistant', content };
  });
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** How many alternatives per token a chat request asks for, or undefined for no logprobs. */
function chatLogprobs(request: Pick<ChatCompletionRequest, 'logprobs' | 'top_logprobs'>): number | undefined {
  if (request.logprobs !== true) {
    // As OpenAI: alternatives come with logprobs only (0, the neutral value, is accepted alone).
    if ((request.top_logprobs ?? 0) > 0) throw badRequest('invalid_value', 'top_logprobs: logprobs must be set to true when top_logprobs is used', 'top_logprobs');
    return undefined;
  }
  return request.top_logprobs ?? 0;
}

function withLogprobs(sampling: Sampling, logprobs: number | null | undefined): Sampling {
  return logprobs == null ? sampling : { ...sampling, logprobs };
}

/**
 * The job of a conversation, whichever endpoint it came from (chat completions, responses): the
 * same job, so the same cache entries and in-flight sharing. `param` names the request's field
 * that holds the conversation, for the error when it is too long.
 */
export function chatSubmission(
  request: JobOptions,
  messages: ChatMessage[],
  maxTokens: number | null | undefined,
  { limits, models, tenant }: JobContext,
  param: string,
): Submission {
  const options = queueOptions(request, models);
  const chars = messages.reduce((sum, message) => sum + message.content.length + (message.tool_calls?.reduce((n, call) => n + call.arguments.length, 0) ?? 0), 0);
  if (chars > limits.maxPromptChars) {
    throw badRequest('prompt_too_long', `${param} hold ${chars} characters of text in all; at most ${limits.maxPromptChars} are accepted`, param);
  }
  return { tenant, input: { messages }, sampling: sampling(request, maxTokens, limits), ...options };
}
