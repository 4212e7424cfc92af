import { z } from 'zod';
import { BATCH_ENDPOINTS, BATCH_STATUSES } from './batch-object.ts';

/** `POST /v1/batches`, as OpenAI defines it; `completion_window` also takes shorter windows (`<n>s|m|h`). */
export const createBatchRequestSchema = z.strictObject({
  input_file_id: z.string().min(1).describe('A file uploaded with purpose "batch": one request per line.'),
  endpoint: z.enum(BATCH_ENDPOINTS).describe('The endpoint every line calls.'),
  completion_window: z
    .string()
    .describe('"24h" (OpenAI\'s), or any "<n>s", "<n>m", "<n>h" up to BATCH_MAX_WINDOW_SECONDS. Lines not run by then end with batch_expired.'),
  metadata: z
    .record(z.string().max(64), z.string().max(512))
    .refine((value) => Object.keys(value).length <= 16, 'at most 16 keys')
    .nullish()
    .describe('Up to 16 key-value pairs, kept with the batch.'),
});
export type CreateBatchRequest = z.infer<typeof createBatchRequestSchema>;

export const listBatchesQuerySchema = z.strictObject({
  after: z.string().optional().describe('A batch id: list the batches after it.'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

const lineErrorSchema = z.object({ code: z.string(), message: z.string(), param: z.string().nullable(), line: z.number().int().nullable() });
const stamp = z.number().int().nullable();

/** OpenAI's Batch object. */
export const batchSchema = z.object({
  id: z.string(),
  object: z.literal('batch'),
  endpoint: z.enum(BATCH_ENDPOINTS),
  errors: z.object({ object: z.literal('list'), data: z.array(lineErrorSchema) }).nullable(),
  input_file_id: z.string(),
  completion_window: z.string(),
  status: z.enum(BATCH_STATUSES),
  output_file_id: z.string().nullable(),
  error_file_id: z.string().nullable(),
  created_at: z.number().int(),
  in_progress_at: stamp,
  expires_at: stamp,
  finalizing_at: stamp,
  completed_at: stamp,
  failed_at: stamp,
  expired_at: stamp,
  cancelling_at: stamp,
  cancelled_at: stamp,
  request_counts: z.object({ total: z.number().int(), completed: z.number().int(), failed: z.number().int() }),
  metadata: z.record(z.string(), z.string()).nullable(),
});

export const batchListSchema = z.object({
  object: z.literal('list'),
  data: z.array(batchSchema),
  first_id: z.string().nullable(),
  last_id: z.string().nullable(),
  has_more: z.boolean(),
});
