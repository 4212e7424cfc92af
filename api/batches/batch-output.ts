import { AppError } from '../../core/errors.ts';
import type { JobView } from '../job-view.ts';
import { openAiError } from '../openai/error-body.ts';
import { chatFlavor, completionFlavor } from '../openai/responses.ts';
import { resultOf } from '../openai/serve-job.ts';
import type { BatchEndpoint } from './batch-object.ts';
import { batchRequestId } from './batch-line.ts';

/** One line of a batch's output or error file, in OpenAI's shape. */
export interface OutputRecord {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: unknown } | null;
  error: { code: string; message: string } | null;
}

/** What the coordinator spools for a finished line: its number, whether it succeeded, and its record. */
export interface SpooledLine {
  line: number;
  ok: boolean;
  record: OutputRecord;
}

/**
 * A finished job's line, with the body the synchronous endpoint would have answered: the
 * completion object, or the error object with the status it would have had.
 */
export function finishedLine(batchId: string, line: number, customId: string, endpoint: BatchEndpoint, view: JobView, modelId: string): SpooledLine {
  const chat = endpoint === '/v1/chat/completions';
  const idPrefix = chat ? chatFlavor.idPrefix : completionFlavor.idPrefix;
  const id = batchRequestId(batchId, line);
  try {
    const result = resultOf(view, modelId);
    const created = Math.floor(Date.parse(view.finished_at ?? new Date().toISOString()) / 1000);
    const meta = { id: `${idPrefix}${view.id}`, created, model: result.model };
    const body = chat ? chatFlavor.full(meta, result) : completionFlavor.full(meta, result);
    return { line, ok: true, record: { id, custom_id: customId, response: { status_code: 200, request_id: view.id, body }, error: null } };
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    const body = openAiError(error.status, error.code, error.message, error.options.param);
    return { line, ok: false, record: { id, custom_id: customId, response: { status_code: error.status, request_id: view.id, body }, error: null } };
  }
}

/** Why lines never ran: the batch was cancelled, or its completion window passed first. */
export type NotRunReason = 'cancelled' | 'expired';

const NOT_RUN_MESSAGES: Record<NotRunReason, string> = {
  cancelled: 'This request was not run: its batch was cancelled first.',
  expired: "This request could not be executed before the batch's completion window expired.",
};

export function notRunLine(batchId: string, line: number, customId: string, reason: NotRunReason): SpooledLine {
  return {
    line,
    ok: false,
    record: { id: batchRequestId(batchId, line), custom_id: customId, response: null, error: { code: `batch_${reason}`, message: NOT_RUN_MESSAGES[reason] } },
  };
}
