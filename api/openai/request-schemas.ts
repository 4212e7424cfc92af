import { z } from 'zod';
import { DEFAULT_PRIORITY, type RequestLimits } from '../../core/job-contract.ts';

/**
 * Request bodies of the OpenAI-compatible endpoints. The server validates with these schemas and
 * the OpenAPI document is generated from them. They are strict: an unknown field is an error, and
 * an OpenAI option this server does not implement is accepted only at its neutral value, so that
 * a client never silently gets something other than what it asked for.
 */

/** Options that exist in OpenAI's API but are accepted only at their neutral value. */
export const UNSUPPORTED_OPTIONS = new Set([
  'n',
  'best_of',
  'echo',
  'suffix',
  'logprobs',
  'top_logprobs',
  'logit_bias',
  'presence_penalty',
  'frequency_penalty',
  'tools',
  'tool_choice',
  'functions',
  'function_call',
  'response_format',
]);

export const only = <T extends z.ZodType>(schema: T, message: string) => schema.nullish().describe(message);

export function samplingFields(limits: RequestLimits) {
  const maxTokens = z.number().int().min(1).max(limits.maxTokensLimit).nullish();
  return {
    model: z.string().min(1).describe('The served model (see GET /v1/models).'),
    max_tokens: maxTokens.describe(`Most tokens to generate. Default ${limits.defaultMaxTokens}; at most ${limits.maxTokensLimit}.`),
    temperature: z.number().min(0).max(2).nullish().describe('Default 1. 0 is greedy (deterministic, and cacheable).'),
    top_p: z.number().gt(0).max(1).nullish().describe('Default 1 (off).'),
    top_k: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .nullish()
      .describe('Extension (as in llama.cpp and vLLM): sample among the k most likely tokens. Default 0 (off).'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .nullish()
      .describe('Fixed seed: the same request gives the same text, and may be cached.'),
    stop: z
      .union([z.string().min(1).max(200), z.array(z.string().min(1).max(200)).max(8)])
      .nullish()
      .describe('Up to 8 strings; generation stops before any of them.'),
    stream: z.boolean().nullish().describe('Answer with server-sent events, ending with `data: [DONE]`.'),
    stream_options: z
      .strictObject({ include_usage: z.boolean().nullish().describe('Send a last chunk with `usage` and no choices.') })
      .nullish()
      .describe('Only with `stream: true`.'),
    user: z.string().max(256).nullish().describe('Accepted for compatibility; not used.'),
    n: only(z.literal(1), 'Only 1 is supported.'),
    presence_penalty: only(z.literal(0), 'Only 0 is supported.'),
    frequency_penalty: only(z.literal(0), 'Only 0 is supported.'),
    logit_bias: only(z.strictObject({}), 'Only an empty object is supported.'),
    priority: z
      .number()
      .int()
      .min(1)
      .max(10)
      .nullish()
      .describe(`Extension (as in vLLM): queue priority, 1 runs first, 10 last. Default ${DEFAULT_PRIORITY}.`),
    cache: z.boolean().nullish().describe('Extension: false bypasses the result cache and in-flight sharing. Default true.'),
  };
}

export function completionRequestSchema(limits: RequestLimits) {
  const prompt = z.string().min(1, 'prompt must not be empty').max(limits.maxPromptChars, `prompt must be at most ${limits.maxPromptChars} characters`);
  return z
    .strictObject({
      ...samplingFields(limits),
      prompt: z
        .union([prompt, z.tuple([prompt])], { error: 'prompt must be a string (or an array holding one string)' })
        .describe('Text to continue. Token arrays and several prompts are not supported.'),
      best_of: only(z.literal(1), 'Only 1 is supported.'),
      echo: only(z.literal(false), 'Only false is supported.'),
      suffix: only(z.null(), 'Not supported.'),
      logprobs: only(z.null(), 'Not supported.'),
    })
    .describe('Body of POST /v1/completions: OpenAI\'s parameters, refused where not implemented (docs/openai.md).');
}
export type CompletionRequest = z.infer<ReturnType<typeof completionRequestSchema>>;

const textPart = z.strictObject({ type: z.literal('text'), text: z.string() });
const content = z
  .union([z.string(), z.array(textPart).min(1)], { error: 'content must be a string or an array of text parts' })
  .describe('A string, or text parts (joined with newlines). Images, audio and files are not supported.');
const name = z.string().max(64).nullish().describe('Accepted; not shown to the model.');

export const chatRequestMessageSchema = z.discriminatedUnion(
  'role',
  [
    z.strictObject({ role: z.literal('system'), content, name }),
    z.strictObject({ role: z.literal('developer'), content, name }).describe('Treated as a system message.'),
    z.strictObject({ role: z.literal('user'), content, name }),
    z.strictObject({ role: z.literal('assistant'), content, name, refusal: z.null().nullish() }),
  ],
  { error: 'role must be system, developer, user or assistant (tool messages are not supported)' },
);
export type ChatRequestMessage = z.infer<typeof chatRequestMessageSchema>;

export function chatCompletionRequestSchema(limits: RequestLimits) {
  const sampling = samplingFields(limits);
  return z
    .strictObject({
      ...sampling,
      messages: z
        .array(chatRequestMessageSchema)
        .min(1, 'messages must not be empty')
        .max(1000)
        .describe(
          `The conversation. A last assistant message is continued (prefill). At most ${limits.maxPromptChars} characters of content in all.`,
        ),
      max_completion_tokens: sampling.max_tokens.describe('Same as max_tokens (which it takes precedence over).'),
      logprobs: only(z.literal(false), 'Only false is supported.'),
      top_logprobs: only(z.literal(0), 'Only 0 is supported.'),
      tools: only(z.array(z.unknown()).max(0), 'Tools are not supported.'),
      tool_choice: only(z.literal('none'), 'Only "none" is supported.'),
      parallel_tool_calls: z.boolean().nullish().describe('Accepted; there are no tool calls.'),
      functions: only(z.array(z.unknown()).max(0), 'Functions are not supported.'),
      function_call: only(z.literal('none'), 'Only "none" is supported.'),
      response_format: only(z.strictObject({ type: z.literal('text') }), 'Only {"type": "text"} is supported.'),
    })
    .describe('Body of POST /v1/chat/completions: OpenAI\'s parameters, refused where not implemented (docs/openai.md).');
}
export type ChatCompletionRequest = z.infer<ReturnType<typeof chatCompletionRequestSchema>>;
