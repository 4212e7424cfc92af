import { z } from 'zod';
import { openAiErrorSchema } from '../response-schemas.ts';

/**
 * What POST /v1/responses answers, in the shape of OpenAI's `Response` object and stream events
 * (the `openai` package's types are the reference: test/openai/responses-shapes.test.ts checks
 * these against them). Fields about features this server does not have carry their neutral value.
 * The handlers build values of these types and the OpenAPI document is generated from them.
 */

const int = z.number().int();
/** Lists that this server always leaves empty: annotations, log probabilities, tools. */
const none = z.array(z.never()).describe('Always empty.');

export const outputTextSchema = z.object({ type: z.literal('output_text'), text: z.string(), annotations: none, logprobs: none });
export type OutputText = z.infer<typeof outputTextSchema>;

export const OUTPUT_ITEM_STATUSES = ['in_progress', 'completed', 'incomplete'] as const;

export const outputMessageSchema = z.object({
  type: z.literal('message'),
  id: z.string().describe('`msg_` followed by the job id.'),
  status: z.enum(OUTPUT_ITEM_STATUSES),
  role: z.literal('assistant'),
  content: z.array(outputTextSchema).describe('One output_text part, once it has begun.'),
});
export type OutputMessage = z.infer<typeof outputMessageSchema>;

export const responseUsageSchema = z.object({
  input_tokens: int.describe('The prompt as the model evaluated it (chat template and BOS included).'),
  input_tokens_details: z.object({ cached_tokens: int, cache_write_tokens: int }).describe('Always 0: there is no prompt cache.'),
  output_tokens: int,
  output_tokens_details: z.object({ reasoning_tokens: int }).describe('Always 0.'),
  total_tokens: int,
});
export type ResponseUsage = z.infer<typeof responseUsageSchema>;

/** The codes of OpenAI's `ResponseError` that this server uses: its clients know no others. */
export const responseErrorCode = z.enum(['invalid_prompt', 'rate_limit_exceeded', 'server_error']);
export type ResponseErrorCode = z.infer<typeof responseErrorCode>;

export const RESPONSE_STATUSES = ['in_progress', 'completed', 'incomplete', 'failed'] as const;
export type ResponseStatus = (typeof RESPONSE_STATUSES)[number];

export const responseObjectSchema = z
  .object({
    id: z.string().describe('`resp_` followed by the job id (see GET /api/v1/jobs/{id}).'),
    object: z.literal('response'),
    created_at: int.describe('Unix time in seconds.'),
    status: z.enum(RESPONSE_STATUSES).describe('`incomplete` when cut off (see `incomplete_details`).'),
    completed_at: int.nullable().describe('Unix time in seconds, once the response has ended.'),
    error: z.object({ code: responseErrorCode, message: z.string() }).nullable().describe('Why the response failed (streams only).'),
    incomplete_details: z
      .object({ reason: z.literal('max_output_tokens') })
      .nullable()
      .describe('With status `incomplete`: max_output_tokens reached, the context full, or the job cancelled.'),
    instructions: z.string().nullable(),
    max_output_tokens: int.describe('The limit applied (DEFAULT_MAX_TOKENS when the request sets none).'),
    metadata: z.record(z.string(), z.string()),
    model: z.string(),
    output: z.array(outputMessageSchema).describe('One assistant message. The SDKs add `output_text`, its text, on the client side.'),
    parallel_tool_calls: z.boolean(),
    previous_response_id: z.null(),
    reasoning: z.object({ effort: z.null(), summary: z.null() }),
    service_tier: z.literal('default'),
    temperature: z.number(),
    text: z.object({ format: z.object({ type: z.literal('text') }) }),
    tool_choice: z.literal('none'),
    tools: none,
    top_logprobs: z.literal(0),
    top_p: z.number(),
    truncation: z.literal('disabled'),
    background: z.literal(false),
    usage: responseUsageSchema.optional().describe('Once the response has ended; absent while in progress and after a failure.'),
    user: z.string().optional(),
  })
  .describe("OpenAI's Response object. Nothing is stored: it cannot be retrieved later.");
export type ResponseObject = z.infer<typeof responseObjectSchema>;

const numbered = { sequence_number: int.describe('0, 1, 2, … in the order sent.') };
const inPart = { item_id: z.string(), output_index: int, content_index: int };
const lifecycle = <T extends string>(type: T) => z.object({ type: z.literal(type), ...numbered, response: responseObjectSchema });

export const responseStreamEventSchema = z
  .discriminatedUnion('type', [
    lifecycle('response.created'),
    lifecycle('response.in_progress'),
    z.object({ type: z.literal('response.output_item.added'), ...numbered, output_index: int, item: outputMessageSchema }),
    z.object({ type: z.literal('response.content_part.added'), ...numbered, ...inPart, part: outputTextSchema }),
    z.object({ type: z.literal('response.output_text.delta'), ...numbered, ...inPart, delta: z.string(), logprobs: none }),
    z.object({ type: z.literal('response.output_text.done'), ...numbered, ...inPart, text: z.string(), logprobs: none }),
    z.object({ type: z.literal('response.content_part.done'), ...numbered, ...inPart, part: outputTextSchema }),
    z.object({ type: z.literal('response.output_item.done'), ...numbered, output_index: int, item: outputMessageSchema }),
    lifecycle('response.completed'),
    lifecycle('response.incomplete'),
    lifecycle('response.failed'),
    z.object({
      type: z.literal('error'),
      ...numbered,
      code: z.string().nullable(),
      message: z.string(),
      param: z.string().nullable(),
      error: openAiErrorSchema.shape.error.describe("The same error in OpenAI's error shape, as OpenAI's servers send it: the official clients raise it."),
    }),
  ])
  .describe('One server-sent event of a streamed response; its `event:` line names its `type`. See docs/openai.md for their order.');
export type ResponseStreamEvent = z.infer<typeof responseStreamEventSchema>;
