import { z } from 'zod';
import { FINISH_REASONS, JOB_STATUSES, type GenerationResult } from '../../core/job-contract.ts';
import type { ModelObject } from '../handlers/list-models.ts';
import type { EmbeddingsAnswer } from '../handlers/embeddings.ts';
import type { UsageReport } from '../handlers/usage.ts';
import type { JobView } from '../job-view.ts';

/**
 * Response bodies of the native API, for the OpenAPI document. The handlers build them from
 * TypeScript types; the checks at the end of this file make the build fail when a type and its
 * schema here disagree, so the document cannot drift from what the server sends.
 */

export const usageSchema = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
});

export const timingsSchema = z.object({
  queued_ms: z.number().describe('From acceptance by the API to the start of generation in a worker.'),
  ttft_ms: z.number().describe('From the start of generation to the first token (prompt evaluation included).'),
  generation_ms: z.number().describe('From the start of generation to the last token.'),
  tokens_per_second: z.number().describe('Generated tokens per second after the first one.'),
});

export const generationResultSchema = z.object({
  text: z.string(),
  finish_reason: z
    .enum(FINISH_REASONS)
    .describe('`cancelled`: stopped by a cancel; `text` holds what was generated until then. `tool_calls`: the model called functions (chat with tools).'),
  usage: usageSchema,
  model: z.string(),
  cached: z.boolean().describe('Answered from the result cache.'),
  timings: timingsSchema,
});

/** A job's result: a generation's, or an embedding job's, which adds its vectors to an empty text. */
export const jobResultSchema = generationResultSchema.extend({
  embeddings: z
    .array(z.string())
    .optional()
    .describe('Embedding jobs: one vector per input, float32 little-endian in base64, as stored (POST /api/v1/embeddings answers numbers by default).'),
  dimensions: z.number().int().optional().describe('Embedding jobs: the length of every vector.'),
  tool_calls: z
    .array(z.object({ id: z.string(), name: z.string(), arguments: z.string().describe('JSON text.') }))
    .optional()
    .describe('Jobs of chat completions with tools that ended in calls (`finish_reason: tool_calls`): the functions called, in order.'),
});

const links = z.object({ self: z.string(), events: z.string() });

export const jobViewSchema = z.object({
  id: z.string(),
  status: z.enum(JOB_STATUSES),
  progress: z.object({ tokens: z.number().int().describe('Tokens generated so far.') }),
  result: jobResultSchema.optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  created_at: z.string(),
  started_at: z.string().optional(),
  finished_at: z.string().optional(),
  queue_position: z
    .number()
    .int()
    .optional()
    .describe('While the job waits: how many jobs run before it under the fair schedule (jobs ready in the queue, then held jobs in round-robin order).'),
  links,
});

export const jobAcceptedSchema = z.object({
  id: z.string(),
  status: z.enum(JOB_STATUSES),
  result: jobResultSchema.optional().describe('Present when the answer came from the cache (status 200).'),
  links,
});

export const generateResultSchema = z.object({ id: z.string() }).extend(generationResultSchema.shape);

export const embeddingsAnswerSchema = z.object({
  id: z.string().describe('The job (GET /api/v1/jobs/{id}); `c-…` when answered from the cache.'),
  model: z.string(),
  embeddings: z
    .union([z.array(z.array(z.number())), z.array(z.string())])
    .describe('One vector per input, in input order: numbers, or float32 little-endian in base64 (`encoding_format: base64`).'),
  dimensions: z.number().int().describe('The length of every vector.'),
  usage: usageSchema.describe('`prompt_tokens`: every input as the model evaluated it; nothing is generated.'),
  cached: z.boolean().describe('Answered from the result cache.'),
  timings: timingsSchema.describe('`generation_ms`: the time computing the vectors; `ttft_ms` and `tokens_per_second` are 0.'),
});

export const nativeErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});

export const healthSchema = z.object({ status: z.literal('ok') });

export const readySchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.object({ redis: z.string(), workers: z.number().int() }),
});

export const jobEventsSchema = z
  .object({
    position: z
      .object({ queue_position: z.number().int() })
      .describe('`event: position` — while the job waits, each time its queue position (as in `GET /api/v1/jobs/{id}`) changes from the one at connection; never after `start`.'),
    start: z.object({ attempt: z.number().int() }).describe('`event: start` — an attempt begins; a retry after a worker failure starts the text over.'),
    token: z.object({ text: z.string(), tokens: z.number().int() }).describe('`event: token` — text generated since the previous event, and the tokens so far.'),
    end: z.object({ result: jobResultSchema }).describe('`event: end` — the final result; its text is authoritative. The response then ends.'),
    error: z.object({ code: z.string(), message: z.string() }).describe('`event: error` — the job failed. The response then ends.'),
  })
  .describe('The `data:` of each event type (one JSON object per event; this object only lists them).');

/** A model file's facts, as the workers that loaded it report them: absent while none has. */
const modelFactsSchema = z.object({
  file: z.string(),
  architecture: z.string(),
  parameters: z.number().int(),
  quantization: z.string(),
  file_type: z.number().int().nullable(),
  context_size: z.number().int().describe('Context of each sequence, in tokens (prompt + generated).'),
  train_context_size: z.number().int().nullable(),
  size_bytes: z.number().int(),
  random_weights: z.boolean().describe('true for builtin:tiny: every output is noise.'),
  has_chat_template: z.boolean().describe('false: chat requests use the plain fallback format (docs/openai.md).'),
  embedding_size: z.number().int().describe("Length of the model's embedding vectors (POST /v1/embeddings `dimensions` must equal it); absent from workers of older versions."),
  load_ms: z.number(),
  fingerprint: z.string().describe("Identity of the file's content (size, GGUF header, weights sampled from both ends): part of cache keys."),
});

export const modelSchema = modelFactsSchema.partial().extend({
  id: z.string().describe('The `model` to send: an id of the models file, or without one `<name>:<quantization>` (the name alone is accepted too).'),
  object: z.literal('model'),
  created: z.number().int().describe('Unix time (seconds) the model was first loaded by a live worker; 0 while none has it loaded.'),
  owned_by: z.literal('llm-orchestrator'),
  aliases: z.array(z.string()).describe('Other names that reach this model (for example an OpenAI model name).'),
  kind: z.enum(['generate', 'embedding']),
  workers: z.number().int().describe('Live workers that have it loaded.'),
  loaded_by: z.array(z.string()).describe('Their ids (`<host>:<pid>:<random>`).'),
  waiting: z.number().int().describe('Jobs waiting for it: ready, held by fair scheduling, or waiting out a retry backoff.'),
});

const usageCountsSchema = z.object({
  requests: z.number().int().describe('Submissions answered: jobs queued, requests that joined a job in flight, cache hits.'),
  completed: z.number().int().describe('Jobs that ended with a result this day.'),
  failed: z.number().int().describe('Jobs that failed for good this day (their tokens are not counted).'),
  cancelled: z.number().int().describe('Jobs cancelled this day: removed while waiting, or stopped while running (their tokens so far are counted).'),
  prompt_tokens: z.number().int().describe('Prompt tokens of the jobs that ended this day.'),
  completion_tokens: z.number().int().describe('Generated tokens of the jobs that ended this day.'),
  cache_hits: z.number().int().describe('Requests answered from the result cache (no tokens).'),
});

export const usageReportSchema = z.object({
  tenant: z.string(),
  from: z.string().describe('First UTC day, YYYY-MM-DD.'),
  to: z.string().describe('Last UTC day, YYYY-MM-DD.'),
  limits: z
    .object({
      max_jobs: z.number().int().describe('Jobs queued or active at once (TENANT_MAX_JOBS); 0: no limit.'),
      tokens_per_day: z.number().int().describe('Prompt + completion tokens per UTC day (TENANT_TOKENS_PER_DAY); 0: no budget.'),
    })
    .describe("The tenant's limits now."),
  live_jobs: z.number().int().describe('Jobs the tenant has queued or active now.'),
  total: usageCountsSchema.describe('The sums over the days.'),
  days: z.array(usageCountsSchema.extend({ date: z.string().describe('UTC day, YYYY-MM-DD.') })).describe('Every day of the range, oldest first; days without use are zeros.'),
});

export const modelListSchema = z.object({ object: z.literal('list'), data: z.array(modelSchema) });

// Compile-time agreement between the schemas above and the types the handlers use.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const agree = <T extends true>(value: T) => value;
agree<Same<z.infer<typeof generationResultSchema>, GenerationResult>>(true);
agree<Same<z.infer<typeof jobViewSchema>, JobView>>(true);
agree<Same<z.infer<typeof usageReportSchema>, UsageReport>>(true);
agree<Same<z.infer<typeof embeddingsAnswerSchema>, EmbeddingsAnswer>>(true);
agree<Same<z.infer<typeof modelSchema>, ModelObject>>(true);
