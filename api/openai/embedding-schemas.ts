import { z } from 'zod';
import { DEFAULT_PRIORITY, ENCODING_FORMATS, MAX_EMBEDDING_INPUTS, type RequestLimits } from '../../core/job-contract.ts';
import { badRequest } from '../../core/errors.ts';

/**
 * Request and response of POST /v1/embeddings, as strict as the other OpenAI-compatible bodies
 * (request-schemas.ts): an unknown field is an error, and what this server does not implement
 * (token arrays, shortened vectors) is refused rather than approximated.
 */

export function embeddingCreateRequestSchema(limits: RequestLimits) {
  const text = z
    .string()
    .min(1, 'an input must not be empty')
    .max(limits.maxPromptChars, `an input must be at most ${limits.maxPromptChars} characters`);
  return z
    .strictObject({
      model: z.string().min(1).describe('The served model (see GET /v1/models).'),
      input: z
        .union([text, z.array(text).min(1, 'input must not be empty').max(MAX_EMBEDDING_INPUTS, `at most ${MAX_EMBEDDING_INPUTS} inputs`)], {
          error: 'input must be a string or an array of strings',
        })
        .describe(
          `A text, or up to ${MAX_EMBEDDING_INPUTS} texts (one vector each, computed in one job). Each must be shorter than the context in tokens. Token arrays are not supported.`,
        ),
      encoding_format: z
        .enum(ENCODING_FORMATS)
        .nullish()
        .describe("Default `float`. `base64`: float32 little-endian, base64 (the official clients ask for it when the caller names no format, and decode it)."),
      dimensions: z
        .number()
        .int()
        .min(1)
        .nullish()
        .describe("Accepted only equal to the model's embedding size (`embedding_size` in GET /v1/models): vectors are not shortened."),
      user: z.string().max(256).nullish().describe('Accepted for compatibility; not used.'),
      priority: z
        .number()
        .int()
        .min(1)
        .max(10)
        .nullish()
        .describe(`Extension: queue priority, 1 runs first, 10 last. Default ${DEFAULT_PRIORITY}.`),
      cache: z
        .boolean()
        .nullish()
        .describe('Extension: false bypasses the result cache and in-flight sharing. Default true (vectors are deterministic).'),
    })
    .describe("Body of POST /v1/embeddings: OpenAI's parameters, refused where not implemented (docs/openai.md).");
}
export type EmbeddingCreateRequest = z.infer<ReturnType<typeof embeddingCreateRequestSchema>>;

/**
 * OpenAI accepts token ids in place of text (one array of numbers, or an array of them). This
 * server takes text only: such an input gets its own answer rather than a schema error about strings.
 */
export function refuseTokenArrays(body: unknown): void {
  if (typeof body !== 'object' || body === null) return;
  const { input } = body as { input?: unknown };
  if (Array.isArray(input) && input.some((item) => typeof item === 'number' || Array.isArray(item))) {
    throw badRequest('unsupported_value', 'input: token arrays are not supported by this server; send the text', 'input');
  }
}

export const embeddingListSchema = z.object({
  object: z.literal('list'),
  data: z.array(
    z.object({
      object: z.literal('embedding'),
      index: z.number().int().describe("The input's position in the request."),
      embedding: z
        .union([z.array(z.number()), z.string()])
        .describe('Numbers (`encoding_format: float`), or float32 little-endian in base64 (`base64`).'),
    }),
  ),
  model: z.string(),
  usage: z.object({
    prompt_tokens: z.number().int().describe("Tokens of every input, as the model evaluated them (BOS and EOS included where the model's tokenizer adds them)."),
    total_tokens: z.number().int(),
  }),
});
export type EmbeddingList = z.infer<typeof embeddingListSchema>;
