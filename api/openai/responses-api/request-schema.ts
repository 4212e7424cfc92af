import { z } from 'zod';
import type { RequestLimits } from '../../../core/job-contract.ts';
import { only, samplingFields, UNSUPPORTED_OPTIONS } from '../request-schemas.ts';

/**
 * The body of POST /v1/responses, as strict as the completions endpoints' (request-schemas.ts): an
 * unknown field is an error, and an option this server does not implement is accepted only at its
 * neutral value. The server is stateless, so everything that refers to stored state (a previous
 * response, a conversation, a stored prompt, background runs) is refused, saying so.
 */

/** The Responses API's options accepted only at their neutral value (`unsupported_value` otherwise). */
export const RESPONSES_UNSUPPORTED_OPTIONS: ReadonlySet<string> = new Set([
  ...UNSUPPORTED_OPTIONS,
  // Tools are served on chat completions; the Responses API's own tool items are not.
  'tools',
  'tool_choice',
  // Chat completions have logprobs; the Responses API does not yet.
  'top_logprobs',
  'text',
  'previous_response_id',
  'conversation',
  'prompt',
  'background',
  'include',
  'reasoning',
  'truncation',
  'service_tier',
  'moderation',
  'context_management',
]);

const STATELESS = 'This server is stateless: it keeps no responses or conversations.';

const inputText = z
  .strictObject({
    type: z.literal('input_text'),
    text: z.string(),
    prompt_cache_breakpoint: z.strictObject({ mode: z.literal('explicit') }).nullish().describe('Accepted; not used.'),
  })
  .describe('Text of a user, system or developer message (any role is accepted).');
const outputText = z
  .strictObject({
    type: z.literal('output_text'),
    text: z.string(),
    annotations: z.array(z.unknown()).optional().describe('Accepted; not shown to the model.'),
    logprobs: z.array(z.unknown()).optional().describe('Accepted; not shown to the model.'),
  })
  .describe("Text of an assistant message, such as an earlier response's output passed back (any role is accepted).");

/**
 * A message of the input, in any of the forms OpenAI's clients send: the short form (`role` and
 * `content`), the typed input message, or an output message of an earlier response passed back
 * as it is (with its `id` and `status`), which is how a stateless client continues a conversation.
 */
export const responseInputMessageSchema = z.strictObject({
  // First, so that an item of another type (a tool call, reasoning) is refused for that, not for its fields.
  type: z.literal('message', { error: 'input items must be messages (tool calls and outputs, reasoning and item references are not supported)' }).optional(),
  role: z.enum(['user', 'system', 'developer', 'assistant'], { error: 'role must be user, system, developer or assistant' }),
  content: z
    .union([z.string(), z.array(z.discriminatedUnion('type', [inputText, outputText]))], {
      error: 'content must be a string or an array of input_text or output_text parts (images, files and refusals are not supported)',
    })
    .describe('A string, or text parts (joined with newlines).'),
  id: z.string().max(256).optional().describe('Accepted (an output item passed back); not used.'),
  status: z.enum(['in_progress', 'completed', 'incomplete']).nullish().describe('Accepted (an output item passed back); not used.'),
  phase: z.enum(['commentary', 'final_answer']).nullish().describe('Accepted; not used.'),
});
export type ResponseInputMessage = z.infer<typeof responseInputMessageSchema>;

const metadata = z
  .record(z.string().max(64), z.string().max(512))
  .refine((pairs) => Object.keys(pairs).length <= 16, 'metadata holds at most 16 pairs')
  .describe('Up to 16 pairs of strings (keys up to 64 characters, values up to 512), returned in the response.');

/**
 * Why `input` was refused. An array that is not all messages fails both forms of `input`, and zod
 * would only say so: the message names the first item at fault and what is wrong with it instead.
 */
function inputError(issue: z.core.$ZodRawIssue): string {
  const inner = issue.code === 'invalid_union' && Array.isArray(issue.input) ? issue.errors[1]?.[0] : undefined;
  const item = inner?.path[0];
  return inner && typeof item === 'number' ? `item ${item}: ${inner.message}` : 'input must be a string or an array of messages';
}

export function responseRequestSchema(limits: RequestLimits) {
  const { model, max_tokens, temperature, top_p, top_k, seed, user, priority, cache } = samplingFields(limits);
  return z
    .strictObject({
      model,
      input: z
        .union(
          [z.string().min(1, 'input must not be empty'), z.array(responseInputMessageSchema).min(1, 'input must not be empty').max(1000)],
          { error: inputError },
        )
        .describe(
          `A user message (a string), or the conversation (messages; a last assistant message is continued). At most ${limits.maxPromptChars} characters of text in all, instructions included.`,
        ),
      instructions: z.string().nullish().describe('A system message, put before the input.'),
      max_output_tokens: max_tokens.describe(`Most tokens to generate. Default ${limits.defaultMaxTokens}; at most ${limits.maxTokensLimit}.`),
      temperature,
      top_p,
      top_k,
      seed,
      stream: z.boolean().nullish().describe('Answer with server-sent events, each named like its `type` (docs/openai.md).'),
      stream_options: z
        .strictObject({ include_obfuscation: z.boolean().nullish().describe('Accepted; delta events carry no obfuscation padding.') })
        .nullish()
        .describe('Only with `stream: true`.'),
      store: z.boolean().nullish().describe(`Accepted, whatever its value: nothing is stored. ${STATELESS}`),
      metadata: metadata.nullish(),
      user,
      safety_identifier: z.string().max(256).nullish().describe('Accepted; not used.'),
      prompt_cache_key: z.string().max(256).nullish().describe('Accepted; not used (the result cache keys on the request itself: see `cache`).'),
      prompt_cache_retention: z.enum(['in_memory', '24h']).nullish().describe('Accepted; not used.'),
      prompt_cache_options: z
        .strictObject({ mode: z.enum(['implicit', 'explicit']).optional(), ttl: z.literal('30m').optional() })
        .nullish()
        .describe('Accepted; not used.'),
      parallel_tool_calls: z.boolean().nullish().describe('Accepted; there are no tool calls.'),
      text: only(
        z.strictObject({ format: z.strictObject({ type: z.literal('text') }).nullish(), verbosity: z.literal('medium').nullish() }),
        'Only {"format": {"type": "text"}}: structured output (json_schema, json_object) is not implemented.',
      ),
      previous_response_id: only(z.null(), `${STATELESS} Send the whole conversation in \`input\` (an earlier response's \`output\` items can be passed back as they are).`),
      conversation: only(z.null(), `${STATELESS} Send the whole conversation in \`input\`.`),
      prompt: only(z.null(), 'Stored prompt templates are not supported.'),
      background: only(z.literal(false), `Only false: background responses are stored and polled. ${STATELESS}`),
      include: only(z.array(z.unknown()).max(0), 'Only an empty list: there is no extra output to include.'),
      reasoning: only(
        z.strictObject({ effort: z.null().nullish(), summary: z.null().nullish(), generate_summary: z.null().nullish() }),
        'Only null: reasoning effort and summaries are not supported.',
      ),
      tools: only(z.array(z.unknown()).max(0), 'Not supported here: send tools to /v1/chat/completions.'),
      tool_choice: only(z.literal('none'), 'Only "none" is supported.'),
      top_logprobs: only(z.literal(0), 'Only 0 is supported.'),
      truncation: only(z.literal('disabled'), 'Only "disabled": an input longer than the context fails (prompt_too_long), it is never shortened.'),
      service_tier: only(z.enum(['auto', 'default']), 'Only "auto" or "default".'),
      moderation: only(z.null(), 'Not supported.'),
      context_management: only(z.array(z.unknown()).max(0), 'Not supported.'),
      priority,
      cache,
    })
    .describe("Body of POST /v1/responses: OpenAI's parameters, refused where not implemented (docs/openai.md).");
}
export type ResponseRequest = z.infer<ReturnType<typeof responseRequestSchema>>;
