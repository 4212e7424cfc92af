import { createHash } from 'node:crypto';
import { AppError } from '../../core/errors.ts';
import { BATCH_PRIORITY, type RequestLimits } from '../../core/job-contract.ts';
import type { ModelResolver } from '../model-lanes.ts';
import type { Submission } from '../job-service.ts';
import { parseOpenAiRequest } from '../openai/parse-request.ts';
import { chatCompletionRequestSchema, completionRequestSchema } from '../openai/request-schemas.ts';
import { chatJob, completionJob } from '../openai/to-submission.ts';
import type { BatchEndpoint } from './batch-object.ts';

/** Longest `custom_id` accepted (OpenAI does not say; ids are keys, not payloads). */
const MAX_CUSTOM_ID = 512;

/** Why a line of an input file cannot run, as `errors.data[]` of a failed batch shows it. */
export class LineError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    /** The status the synchronous endpoint answers this with. */
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface BatchLine {
  custom_id: string;
  submission: Submission;
}

export interface LineContext {
  endpoint: BatchEndpoint;
  limits: RequestLimits;
  /** The deployment's models: the line's `model` must name one, as on the synchronous endpoint. */
  models: ModelResolver;
  tenant: string;
}

/** Request parsers of each endpoint, built once per limits. */
export function lineParser(limits: RequestLimits): (text: string, context: LineContext) => BatchLine {
  const chat = chatCompletionRequestSchema(limits);
  const completion = completionRequestSchema(limits);
  return (text, context) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new LineError('invalid_json_line', 'this line is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new LineError('invalid_json_line', 'this line is not a JSON object');
    const { custom_id: customId, method, url, body } = parsed as Record<string, unknown>;
    if (typeof customId !== 'string' || customId.length === 0 || customId.length > MAX_CUSTOM_ID) {
      throw new LineError('invalid_custom_id', `custom_id must be a string of 1 to ${MAX_CUSTOM_ID} characters`, 'custom_id');
    }
    if (method !== 'POST') throw new LineError('invalid_method', 'method must be "POST"', 'method');
    if (url !== context.endpoint) throw new LineError('mismatched_url', `url must be the batch's endpoint, ${context.endpoint}`, 'url');
    if (typeof body === 'object' && body !== null && (body as { stream?: unknown }).stream === true) {
      throw new LineError('invalid_value', 'stream is not supported in a batch', 'body.stream');
    }
    try {
      const job =
        context.endpoint === '/v1/chat/completions'
          ? chatJob(parseOpenAiRequest(chat, body), context)
          : completionJob(parseOpenAiRequest(completion, body), context);
      // A line's output record holds one job's answer.
      if (job.choices > 1) throw new LineError('unsupported_value', 'n above 1 is not supported in a batch: write one line per choice', 'body.n');
      return { custom_id: customId, submission: { ...job.submission, priority: BATCH_PRIORITY } };
    } catch (error) {
      if (error instanceof AppError) throw new LineError(error.code, error.message, error.options.param ? `body.${error.options.param}` : null, error.status);
      throw error;
    }
  };
}

/** The id of a line's output record: the same whenever it is written, so a record written twice is one. */
export function batchRequestId(batchId: string, line: number): string {
  return `batch_req_${createHash('sha256').update(`${batchId}:${line}`).digest('hex').slice(0, 32)}`;
}
