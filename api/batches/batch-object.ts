/**
 * A batch as OpenAI's Batch API shows it, and as its record in Redis holds it (docs/batches.md).
 * The lifecycle is OpenAI's: validating → in_progress → finalizing → completed, or failed
 * (validation), expired (the completion window passed), cancelling → cancelled.
 */

export const BATCH_STATUSES = ['validating', 'failed', 'in_progress', 'finalizing', 'completed', 'expired', 'cancelling', 'cancelled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** The states a batch never leaves. */
export const FINAL_BATCH_STATUSES: ReadonlySet<BatchStatus> = new Set(['failed', 'completed', 'expired', 'cancelled']);
export const isFinalBatch = (status: BatchStatus) => FINAL_BATCH_STATUSES.has(status);

/** The endpoints a batch line may call: the ones a job of the queue answers. */
export const BATCH_ENDPOINTS = ['/v1/chat/completions', '/v1/completions'] as const;
export type BatchEndpoint = (typeof BATCH_ENDPOINTS)[number];

export interface BatchLineError {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

/** OpenAI's Batch object. */
export interface BatchObject {
  id: string;
  object: 'batch';
  endpoint: BatchEndpoint;
  errors: { object: 'list'; data: BatchLineError[] } | null;
  input_file_id: string;
  completion_window: string;
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number | null;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string> | null;
}

/** What the Redis hash of a batch holds, decoded: the object, its owner, and where its coordinator stands. */
export interface BatchRecord {
  object: BatchObject;
  tenant: string;
  /** The model id the batch was validated against (lines name it, or its name). */
  model: string;
  /** The next line of the input file to admit (1-based) and its byte offset. */
  nextLine: number;
  nextOffset: number;
}

const TIMESTAMPS = ['in_progress_at', 'expires_at', 'finalizing_at', 'completed_at', 'failed_at', 'expired_at', 'cancelling_at', 'cancelled_at'] as const;

const num = (value: string | undefined) => (value === undefined || value === '' ? null : Number(value));

/** Decodes a batch's hash; undefined when it does not exist. */
export function decodeBatch(hash: Record<string, string>): BatchRecord | undefined {
  if (!hash.id || !hash.status) return undefined;
  const timestamps = Object.fromEntries(TIMESTAMPS.map((field) => [field, num(hash[field])])) as Record<(typeof TIMESTAMPS)[number], number | null>;
  return {
    object: {
      id: hash.id,
      object: 'batch',
      endpoint: hash.endpoint as BatchEndpoint,
      errors: hash.errors ? (JSON.parse(hash.errors) as BatchObject['errors']) : null,
      input_file_id: hash.input_file_id ?? '',
      completion_window: hash.completion_window ?? '24h',
      status: hash.status as BatchStatus,
      output_file_id: hash.output_file_id || null,
      error_file_id: hash.error_file_id || null,
      created_at: Number(hash.created_at),
      ...timestamps,
      request_counts: { total: Number(hash.total ?? 0), completed: Number(hash.completed ?? 0), failed: Number(hash.failed ?? 0) },
      metadata: hash.metadata ? (JSON.parse(hash.metadata) as Record<string, string>) : null,
    },
    tenant: hash.tenant ?? '',
    model: hash.model ?? '',
    nextLine: Number(hash.next_line ?? 1),
    nextOffset: Number(hash.next_offset ?? 0),
  };
}
