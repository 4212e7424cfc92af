import { z } from 'zod';

/**
 * Response bodies of the OpenAI-compatible endpoints, as OpenAI's clients read them. The handlers
 * build values of these types and the OpenAPI document is generated from the same schemas.
 */

/** OpenAI's finish reasons that this server produces (a cancelled job reports `length`: see docs/openai.md). */
export const openAiFinishReason = z.enum(['stop', 'length', 'tool_calls']);
export type OpenAiFinishReason = z.infer<typeof openAiFinishReason>;

export const openAiUsageSchema = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
});

const bytes = z.array(z.number().int()).describe("The token's text as UTF-8 bytes.");
const chatTokenLogprob = { token: z.string(), logprob: z.number(), bytes };

export const chatLogprobsSchema = z
  .object({
    content: z.array(z.object({ ...chatTokenLogprob, top_logprobs: z.array(z.object(chatTokenLogprob)) })),
    refusal: z.null(),
  })
  .describe('With `logprobs: true`: each token of the answer, its log probability and the most likely alternatives (`top_logprobs` of them).');
export type ChatLogprobs = z.infer<typeof chatLogprobsSchema>;

export const completionLogprobsSchema = z
  .object({
    tokens: z.array(z.string()),
    token_logprobs: z.array(z.number()),
    top_logprobs: z.array(z.record(z.string(), z.number())),
    text_offset: z.array(z.number().int()).describe('Where each token starts in the generated text.'),
  })
  .describe('With `logprobs`: each generated token, its log probability and the most likely alternatives (`logprobs` of them).');
export type CompletionLogprobs = z.infer<typeof completionLogprobsSchema>;

const envelope = {
  id: z.string().describe('`cmpl-` or `chatcmpl-` followed by the job id (see GET /api/v1/jobs/{id}).'),
  created: z.number().int().describe('Unix time in seconds.'),
  model: z.string(),
};

export const completionSchema = z.object({
  ...envelope,
  object: z.literal('text_completion'),
  choices: z.array(
    z.object({ index: z.number().int(), text: z.string(), logprobs: completionLogprobsSchema.nullable(), finish_reason: openAiFinishReason }),
  ),
  usage: openAiUsageSchema,
});
export type Completion = z.infer<typeof completionSchema>;

export const completionChunkSchema = z
  .object({
    ...envelope,
    object: z.literal('text_completion'),
    choices: z.array(
      z.object({ index: z.number().int(), text: z.string(), logprobs: completionLogprobsSchema.nullable(), finish_reason: openAiFinishReason.nullable() }),
    ),
    usage: openAiUsageSchema.nullish().describe('With `stream_options.include_usage`: null, except in the last chunk.'),
  })
  .describe('One `data:` event of a streamed completion.');
export type CompletionChunk = z.infer<typeof completionChunkSchema>;

const toolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string().describe("JSON text, valid against the function's parameters (a grammar constrains them).") }),
});

export const chatCompletionSchema = z.object({
  ...envelope,
  object: z.literal('chat.completion'),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: z.object({
        role: z.literal('assistant'),
        content: z.string().nullable().describe('Null when the answer is only calls.'),
        refusal: z.null(),
        tool_calls: z.array(toolCallSchema).optional().describe('With `finish_reason: tool_calls`: the functions the model called.'),
      }),
      logprobs: chatLogprobsSchema.nullable(),
      finish_reason: openAiFinishReason,
    }),
  ),
  usage: openAiUsageSchema,
});
export type ChatCompletion = z.infer<typeof chatCompletionSchema>;

export const chatCompletionChunkSchema = z
  .object({
    ...envelope,
    object: z.literal('chat.completion.chunk'),
    choices: z.array(
      z.object({
        index: z.number().int(),
        delta: z.object({
          role: z.literal('assistant').optional(),
          content: z.string().optional(),
          tool_calls: z
            .array(
              z.object({
                index: z.number().int().describe("The call's place in the answer."),
                id: z.string().optional(),
                type: z.literal('function').optional(),
                function: z.object({ name: z.string().optional(), arguments: z.string().optional() }),
              }),
            )
            .optional()
            .describe("A call's first delta names it (id, type, name); later ones add to its arguments."),
        }),
        logprobs: chatLogprobsSchema.nullable(),
        finish_reason: openAiFinishReason.nullable(),
      }),
    ),
    usage: openAiUsageSchema.nullish().describe('With `stream_options.include_usage`: null, except in the last chunk.'),
  })
  .describe('One `data:` event of a streamed chat completion.');
export type ChatCompletionChunk = z.infer<typeof chatCompletionChunkSchema>;

export const openAiErrorSchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string().describe('invalid_request_error, authentication_error, permission_error, rate_limit_error or server_error.'),
      param: z.string().nullable(),
      code: z.string().nullable(),
    }),
  })
  .describe("OpenAI's error shape. In a stream, the same object is sent as a `data:` event, followed by `data: [DONE]`.");
export type OpenAiError = z.infer<typeof openAiErrorSchema>;
