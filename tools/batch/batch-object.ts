/**
 * OpenAI's Files and Batch objects as the command reads them. The command talks to any deployment
 * (this server or OpenAI itself), so these are OpenAI's published shapes, not this server's
 * internal records: it relies on nothing the API reference does not promise.
 */

export const BATCH_STATUSES = [
  'validating',
  'failed',
  'in_progress',
  'finalizing',
  'completed',
  'expired',
  'cancelling',
  'cancelled',
] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** Statuses a batch never leaves: following stops there. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set<BatchStatus>(['failed', 'completed', 'expired', 'cancelled']);

/** One entry of `errors.data`: why the input was refused, `line` counting from 1 when it names one. */
export interface BatchError {
  code?: string | null;
  message?: string | null;
  param?: string | null;
  line?: number | null;
}

export interface RequestCounts {
  total: number;
  completed: number;
  failed: number;
}

export interface Batch {
  id: string;
  object: 'batch';
  endpoint: string;
  errors?: { object?: string; data?: BatchError[] } | null;
  input_file_id: string;
  completion_window: string;
  status: BatchStatus;
  output_file_id?: string | null;
  error_file_id?: string | null;
  created_at: number;
  in_progress_at?: number | null;
  expires_at?: number | null;
  finalizing_at?: number | null;
  completed_at?: number | null;
  failed_at?: number | null;
  expired_at?: number | null;
  cancelling_at?: number | null;
  cancelled_at?: number | null;
  /** Absent or zero until the input has been validated. */
  request_counts?: RequestCounts | null;
  metadata?: Record<string, string> | null;
}

export interface FileObject {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
}

export function isFinal(status: string): boolean {
  return FINAL_STATUSES.has(status);
}

/** The counts, zero while the server has not filled them in yet. */
export function countsOf(batch: Pick<Batch, 'request_counts'>): RequestCounts {
  const counts = batch.request_counts;
  return { total: counts?.total ?? 0, completed: counts?.completed ?? 0, failed: counts?.failed ?? 0 };
}
