import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { GrammarSchema } from './grammar-schema.ts';
import { SchemaSubsetError, toGrammarSchema } from './json-schema-subset.ts';

/**
 * Structured output: `response_format` as clients send it (OpenAI's shape, on the native API too)
 * and as a job carries it to the worker, which enforces it with a grammar.
 */

export const responseFormatRequestSchema = z
  .discriminatedUnion(
    'type',
    [
      z.strictObject({ type: z.literal('text') }).describe('Plain text (the default).'),
      z.strictObject({ type: z.literal('json_object') }).describe('Any JSON object.'),
      z
        .strictObject({
          type: z.literal('json_schema'),
          json_schema: z.strictObject({
            name: z
              .string()
              .regex(/^[A-Za-z0-9_-]{1,64}$/, 'name must be 1 to 64 letters, digits, _ or -')
              .describe('Names the format; not shown to the model.'),
            description: z.string().max(10_000).nullish().describe('Accepted; not shown to the model.'),
            schema: z
              .record(z.string(), z.unknown())
              .describe('A JSON schema within the subset in docs/openai.md; another keyword is refused (400 unsupported_value) and named.'),
            strict: z.boolean().nullish().describe('Accepted; the schema is always enforced, whatever its value.'),
          }),
        })
        .describe('JSON valid against the given schema.'),
    ],
    { error: 'response_format.type must be text, json_object or json_schema' },
  )
  .describe('Structured output, enforced by a grammar: the text is JSON (a whole value unless `finish_reason` is `length`).');
export type ResponseFormatRequest = z.infer<typeof responseFormatRequestSchema>;

/** What a job carries: absent for plain text. */
export type JobResponseFormat = { type: 'json_object' } | { type: 'json_schema'; schema: GrammarSchema };

/** The parameter subset errors are reported against. */
const SCHEMA_PARAM = 'response_format.json_schema.schema';

/**
 * The job's response format, or undefined for text. A schema outside the subset is a 400 that
 * names the keyword (`unsupported_value`), a broken one a 400 `invalid_value`, before anything is queued.
 */
export function toJobResponseFormat(format: ResponseFormatRequest | null | undefined, stop: readonly string[]): JobResponseFormat | undefined {
  if (!format || format.type === 'text') return undefined;
  if (stop.length > 0) {
    // A stop string could end the text inside the JSON, which then no longer parses.
    throw new AppError(400, 'invalid_value', `stop cannot be combined with response_format ${format.type}: a stop string could cut the JSON short`, {
      param: 'stop',
    });
  }
  if (format.type === 'json_object') return { type: 'json_object' };
  try {
    return { type: 'json_schema', schema: toGrammarSchema(format.json_schema.schema) };
  } catch (error) {
    if (!(error instanceof SchemaSubsetError)) throw error;
    const where = [SCHEMA_PARAM, ...error.path].join('.');
    throw new AppError(400, error.kind === 'unsupported' ? 'unsupported_value' : 'invalid_value', `${where}: ${error.message}`, { param: SCHEMA_PARAM });
  }
}

/** The same format as a string: one key for the cache and for the worker's grammar cache. */
export function responseFormatKey(format: JobResponseFormat): string {
  return JSON.stringify(format);
}
