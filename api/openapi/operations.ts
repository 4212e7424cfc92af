import type { z } from 'zod';
import type { Config } from '../../core/config.ts';
import { embeddingRequestSchema, generateWaitRequestSchema, generationRequestSchema } from '../../core/job-contract.ts';
import { embeddingCreateRequestSchema, embeddingListSchema } from '../openai/embedding-schemas.ts';
import { chatCompletionRequestSchema, completionRequestSchema } from '../openai/request-schemas.ts';
import {
  chatCompletionChunkSchema,
  chatCompletionSchema,
  completionChunkSchema,
  completionSchema,
  openAiErrorSchema,
} from '../openai/response-schemas.ts';
import { responseRequestSchema } from '../openai/responses-api/request-schema.ts';
import { responseObjectSchema, responseStreamEventSchema } from '../openai/responses-api/response-schemas.ts';
import { usageQuerySchema } from '../handlers/usage.ts';
import { fileDeletedSchema, fileListSchema, fileObjectSchema, fileUploadRequestSchema } from '../files/file-schemas.ts';
import { listFilesQuerySchema } from '../files/list-files.ts';
import { batchListSchema, batchSchema, createBatchRequestSchema, listBatchesQuerySchema } from '../batches/batch-schemas.ts';
import { limitsOf } from '../submission.ts';
import * as native from './native-schemas.ts';

/**
 * Every route the API serves, described for the OpenAPI document. Request bodies are the very
 * schemas the handlers validate with (built with this deployment's limits); a test checks that
 * this list and the routes Express has mounted are the same.
 */

/** Named schemas: request bodies are documented as the server reads them (defaults optional), the rest as it writes them. */
export function componentSchemas(config: Config) {
  const limits = limitsOf(config);
  return {
    input: {
      JobRequest: generationRequestSchema(limits),
      GenerateRequest: generateWaitRequestSchema(limits),
      CompletionRequest: completionRequestSchema(limits),
      ChatCompletionRequest: chatCompletionRequestSchema(limits),
      ResponseRequest: responseRequestSchema(limits),
      EmbeddingRequest: embeddingRequestSchema(limits),
      CreateEmbeddingRequest: embeddingCreateRequestSchema(limits),
      FileUploadRequest: fileUploadRequestSchema,
      CreateBatchRequest: createBatchRequestSchema,
    },
    output: {
      GenerationResult: native.generationResultSchema,
      JobView: native.jobViewSchema,
      JobAccepted: native.jobAcceptedSchema,
      GenerateResult: native.generateResultSchema,
      Embeddings: native.embeddingsAnswerSchema,
      JobEvents: native.jobEventsSchema,
      Error: native.nativeErrorSchema,
      Health: native.healthSchema,
      Ready: native.readySchema,
      Completion: completionSchema,
      CompletionChunk: completionChunkSchema,
      ChatCompletion: chatCompletionSchema,
      ChatCompletionChunk: chatCompletionChunkSchema,
      Response: responseObjectSchema,
      ResponseStreamEvent: responseStreamEventSchema,
      EmbeddingList: embeddingListSchema,
      OpenAIError: openAiErrorSchema,
      ModelList: native.modelListSchema,
      UsageReport: native.usageReportSchema,
      OpenAIFile: fileObjectSchema,
      OpenAIFileList: fileListSchema,
      OpenAIFileDeleted: fileDeletedSchema,
      Batch: batchSchema,
      BatchList: batchListSchema,
    },
  } satisfies Record<'input' | 'output', Record<string, z.ZodType>>;
}

type Components = ReturnType<typeof componentSchemas>;
export type ComponentName = keyof Components['input'] | keyof Components['output'];

export interface ResponseSpec {
  description: string;
  /** Media type → component (JSON) or a plain schema (text, HTML, event streams). */
  content?: Record<string, ComponentName | { type: 'string'; description?: string }>;
  headers?: Record<string, string>;
}

export interface Operation {
  method: 'get' | 'post' | 'delete';
  /** OpenAPI form: `/api/v1/jobs/{id}`. */
  path: string;
  operationId: string;
  tags: string[];
  summary: string;
  description?: string;
  body?: ComponentName;
  /** The body's media type; default JSON. */
  bodyType?: 'application/json' | 'multipart/form-data';
  /** Query parameters: the schema the handler validates them with. */
  query?: z.ZodObject;
  /** Served without an API key even when keys are configured (probes and this description). */
  open?: boolean;
  responses: Record<string, ResponseSpec>;
}

const json = (name: ComponentName) => ({ 'application/json': name });
const nativeError = (description: string): ResponseSpec => ({ description, content: json('Error') });
const openAiError = (description: string): ResponseSpec => ({ description, content: json('OpenAIError') });
const sse = (description: string) => ({ type: 'string' as const, description });
const jobIdHeader = { 'x-job-id': 'The job serving the request (GET /api/v1/jobs/{id}, .../events).' };

const openAiErrors: Record<string, ResponseSpec> = {
  '400': openAiError('Invalid request, or an OpenAI option this server does not implement (`code`: `unknown_parameter`, `unsupported_value`, `invalid_value`, `prompt_too_long`).'),
  '404': openAiError('`model` is not the served model (`code`: `model_not_found`).'),
  '429': openAiError(
    'A tenant limit: `too_many_jobs` (jobs queued or active at its limit), `budget_exceeded` (its tokens for the UTC day are used up; `Retry-After` until midnight UTC), or the rate limit.',
  ),
  '502': openAiError('The job failed after its retries.'),
};

const tenantLimits: ResponseSpec = {
  description:
    "A tenant limit: `too_many_jobs` (jobs queued or active at the tenant's limit), `budget_exceeded` (its tokens for the UTC day are used up; `Retry-After` until midnight UTC), or the rate limit (`rate_limited`).",
  content: json('Error'),
  headers: { 'Retry-After': 'Seconds to wait (budget_exceeded: until midnight UTC; rate_limited: until the window ends).' },
};

export const OPERATIONS: Operation[] = [
  {
    method: 'get',
    path: '/api/health',
    operationId: 'health',
    open: true,
    tags: ['operations'],
    summary: 'Liveness: the process serves HTTP',
    responses: { '200': { description: 'Alive.', content: json('Health') } },
  },
  {
    method: 'get',
    path: '/api/ready',
    operationId: 'ready',
    open: true,
    tags: ['operations'],
    summary: 'Readiness: Redis answers and a worker with its model loaded reported recently',
    responses: { '200': { description: 'Ready.', content: json('Ready') }, '503': { description: 'Not ready.', content: json('Ready') } },
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    tags: ['operations'],
    summary: 'Prometheus metrics of this API process',
    responses: { '200': { description: 'Prometheus text exposition format.', content: { 'text/plain': { type: 'string' } } } },
  },
  {
    method: 'get',
    path: '/api/openapi.json',
    operationId: 'openapi',
    open: true,
    tags: ['operations'],
    summary: 'This document',
    responses: { '200': { description: 'OpenAPI 3.1 document.', content: { 'application/json': { type: 'string', description: 'An OpenAPI document.' } } } },
  },
  {
    method: 'get',
    path: '/api/docs',
    operationId: 'docs',
    open: true,
    tags: ['operations'],
    summary: 'This document as a browsable page (Swagger UI, served locally)',
    responses: { '200': { description: 'HTML page.', content: { 'text/html': { type: 'string' } } } },
  },
  {
    method: 'post',
    path: '/api/v1/jobs',
    operationId: 'createJob',
    tags: ['jobs'],
    summary: 'Submit a generation job',
    description: 'Answers at once: 202 with the job to poll, or 200 with the result when it is cached. Identical deterministic requests in flight share one job.',
    body: 'JobRequest',
    responses: {
      '200': { description: 'Answered from the cache.', content: json('JobAccepted') },
      '202': { description: 'Queued.', content: json('JobAccepted'), headers: { Location: 'The job to poll.' } },
      '400': nativeError('Invalid request.'),
      '429': tenantLimits,
    },
  },
  {
    method: 'get',
    path: '/api/v1/jobs/{id}',
    operationId: 'getJob',
    tags: ['jobs'],
    summary: 'Status, progress, result or error of a job',
    responses: { '200': { description: 'The job.', content: json('JobView') }, '404': nativeError('No such job (or its retention has passed).') },
  },
  {
    method: 'delete',
    path: '/api/v1/jobs/{id}',
    operationId: 'cancelJob',
    tags: ['jobs'],
    summary: 'Cancel a job: a waiting one is removed, an active one stopped in its worker',
    responses: {
      '200': { description: 'Cancelled.', content: json('JobView') },
      '202': { description: 'Cancellation requested; the job has not stopped yet.', content: json('JobView') },
      '404': nativeError('No such job.'),
      '409': nativeError('The job already finished.'),
    },
  },
  {
    method: 'get',
    path: '/api/v1/jobs/{id}/events',
    operationId: 'jobEvents',
    tags: ['jobs'],
    summary: "A job's tokens as server-sent events",
    description:
      'Replays what was generated so far, then streams the rest, then `end` or `error`, then closes. Events carry the stream entry id: send it back as `Last-Event-ID` to resume. Disconnecting does not cancel the job. See docs/streaming.md.',
    responses: {
      '200': { description: 'Event stream; `data:` of each event type in the JobEvents schema.', content: { 'text/event-stream': sse('Named events: start, token, end, error (see JobEvents).') } },
      '404': nativeError('No such job.'),
    },
  },
  {
    method: 'post',
    path: '/api/v1/generate',
    operationId: 'generate',
    tags: ['jobs'],
    summary: 'Submit a job and wait for its result',
    body: 'GenerateRequest',
    responses: {
      '200': { description: 'The result.', content: json('GenerateResult') },
      '202': { description: 'Not finished within `timeout_ms`: poll the job.', content: json('JobAccepted') },
      '400': nativeError('Invalid request, or a job that failed because of its request.'),
      '429': tenantLimits,
      '502': nativeError('The job failed after its retries.'),
    },
  },
  {
    method: 'post',
    path: '/api/v1/embeddings',
    operationId: 'createEmbeddings',
    tags: ['jobs'],
    summary: 'Embed texts and wait for the vectors',
    description:
      'Every input in one job of the queue, with its priority, quotas, fair scheduling, cache and in-flight sharing; vectors are deterministic, so a repeated request is answered from the cache unless `cache: false`. Waits up to `timeout_ms`, as POST /api/v1/generate. See docs/openai.md (Embeddings).',
    body: 'EmbeddingRequest',
    responses: {
      '200': { description: 'The vectors.', content: json('Embeddings') },
      '202': { description: 'Not finished within `timeout_ms`: poll the job.', content: json('JobAccepted') },
      '400': nativeError('Invalid request, or an input as long as the context or longer (`prompt_too_long`).'),
      '409': nativeError('The job was cancelled before its vectors were computed (`job_cancelled`).'),
      '429': tenantLimits,
      '502': nativeError('The job failed after its retries.'),
    },
  },
  {
    method: 'get',
    path: '/api/v1/usage',
    operationId: 'getUsage',
    tags: ['jobs'],
    summary: "The caller's tenant's usage per UTC day",
    description:
      'Requests, jobs completed, failed and cancelled, prompt and completion tokens and cache hits, per UTC day of the range (at most 366 days; days are kept USAGE_RETENTION_DAYS). A job counts on the day it ended. Admin keys may name another tenant. See docs/security.md.',
    query: usageQuerySchema,
    responses: {
      '200': { description: 'The usage.', content: json('UsageReport') },
      '400': nativeError('A date that is not YYYY-MM-DD or not in the calendar, `from` after `to`, a range over 366 days, or an unknown parameter.'),
      '404': nativeError("Another tenant's usage, asked for by a key that is not an admin's."),
    },
  },
  {
    method: 'get',
    path: '/api/v1/models',
    operationId: 'listModels',
    tags: ['jobs'],
    summary: 'The models live workers serve',
    responses: { '200': { description: "OpenAI's list shape, with the model's facts.", content: json('ModelList') }, '503': nativeError('Redis does not answer.') },
  },
  {
    method: 'get',
    path: '/v1/models',
    operationId: 'listOpenAiModels',
    tags: ['openai'],
    summary: 'The served model, as OpenAI clients list models',
    responses: { '200': { description: 'Empty while no worker is up.', content: json('ModelList') }, '503': openAiError('Redis does not answer.') },
  },
  {
    method: 'post',
    path: '/v1/completions',
    operationId: 'createCompletion',
    tags: ['openai'],
    summary: 'OpenAI-compatible text completion',
    description: 'A job of the same queue as the native API. With `stream: true`: server-sent events of CompletionChunk objects, ending with `data: [DONE]`. See docs/openai.md.',
    body: 'CompletionRequest',
    responses: {
      '200': {
        description: 'The completion, or its stream.',
        content: { 'application/json': 'Completion', 'text/event-stream': sse('`data:` CompletionChunk objects, then `data: [DONE]`.') },
        headers: jobIdHeader,
      },
      ...openAiErrors,
    },
  },
  {
    method: 'post',
    path: '/v1/chat/completions',
    operationId: 'createChatCompletion',
    tags: ['openai'],
    summary: 'OpenAI-compatible chat completion',
    description:
      "Prompted with the model's own chat template, or the plain fallback format for models without one. With `stream: true`: server-sent events of ChatCompletionChunk objects, ending with `data: [DONE]`. See docs/openai.md.",
    body: 'ChatCompletionRequest',
    responses: {
      '200': {
        description: 'The chat completion, or its stream.',
        content: { 'application/json': 'ChatCompletion', 'text/event-stream': sse('`data:` ChatCompletionChunk objects, then `data: [DONE]`.') },
        headers: jobIdHeader,
      },
      ...openAiErrors,
    },
  },
  {
    method: 'post',
    path: '/v1/responses',
    operationId: 'createResponse',
    tags: ['openai'],
    summary: "OpenAI's Responses API, stateless",
    description:
      'The input (and instructions) is a conversation, run as the same chat job as /v1/chat/completions makes of it. Nothing is stored: `previous_response_id` and `conversation` are refused, and there is no GET /v1/responses/{id}. With `stream: true`: server-sent events named like their `type` (ResponseStreamEvent). See docs/openai.md.',
    body: 'ResponseRequest',
    responses: {
      '200': {
        description: 'The response (`completed`, or `incomplete` when cut off), or its stream.',
        content: {
          'application/json': 'Response',
          'text/event-stream': sse('ResponseStreamEvent objects, each after an `event:` line naming its type; the stream ends with response.completed, response.incomplete, or response.failed and error.'),
        },
        headers: jobIdHeader,
      },
      ...openAiErrors,
    },
  },
  {
    method: 'post',
    path: '/v1/embeddings',
    operationId: 'createEmbedding',
    tags: ['openai'],
    summary: 'OpenAI-compatible embeddings',
    description:
      "One vector per input, all computed in one job of the same queue as the native API (and cached: vectors are deterministic). `dimensions` other than the model's embedding size and token arrays are refused (`unsupported_value`). See docs/openai.md.",
    body: 'CreateEmbeddingRequest',
    responses: {
      '200': { description: 'The vectors.', content: json('EmbeddingList'), headers: jobIdHeader },
      ...openAiErrors,
      '409': openAiError('The job was cancelled before its vectors were computed (`job_cancelled`).'),
    },
  },
  {
    method: 'post',
    path: '/v1/files',
    operationId: 'uploadFile',
    tags: ['files'],
    summary: 'Upload a batch input file (OpenAI Files API)',
    description:
      'Multipart form with `purpose` (`batch`, sent first) and `file`; streamed to storage, at most FILE_MAX_BYTES. The file belongs to the caller\'s tenant. See docs/batches.md.',
    body: 'FileUploadRequest',
    bodyType: 'multipart/form-data',
    responses: {
      '200': { description: 'Stored.', content: json('OpenAIFile') },
      '400': openAiError('Not a multipart form, a `purpose` other than `batch` (`unsupported_value`), a missing `file`, or an unknown field (`unknown_parameter`).'),
      '413': openAiError('The file is larger than FILE_MAX_BYTES (`code`: `file_too_large`); nothing is kept.'),
    },
  },
  {
    method: 'get',
    path: '/v1/files',
    operationId: 'listFiles',
    tags: ['files'],
    summary: "The caller's files (every tenant's for admin keys)",
    query: listFilesQuerySchema,
    responses: {
      '200': { description: "OpenAI's cursor page.", content: json('OpenAIFileList') },
      '400': openAiError('A bad parameter, or an `after` that names no file of the list.'),
    },
  },
  {
    method: 'get',
    path: '/v1/files/{id}',
    operationId: 'getFile',
    tags: ['files'],
    summary: 'A file object',
    responses: { '200': { description: 'The file.', content: json('OpenAIFile') }, '404': openAiError("No such file (or another tenant's).") },
  },
  {
    method: 'get',
    path: '/v1/files/{id}/content',
    operationId: 'getFileContent',
    tags: ['files'],
    summary: "A file's content, as uploaded or written",
    responses: {
      '200': { description: 'The bytes.', content: { 'application/octet-stream': { type: 'string', description: 'The file as stored.' } } },
      '404': openAiError("No such file (or another tenant's)."),
    },
  },
  {
    method: 'delete',
    path: '/v1/files/{id}',
    operationId: 'deleteFile',
    tags: ['files'],
    summary: 'Delete a file and its content',
    responses: { '200': { description: 'Deleted.', content: json('OpenAIFileDeleted') }, '404': openAiError("No such file (or another tenant's).") },
  },
  {
    method: 'post',
    path: '/v1/batches',
    operationId: 'createBatch',
    tags: ['batches'],
    summary: 'Start a batch on an uploaded file (OpenAI Batch API)',
    description:
      'Every line of the file runs as a job of the queue, in a priority class below interactive requests, admitted BATCH_LINES_IN_FLIGHT at a time. The batch validates, runs, and writes an output and an error file. See docs/batches.md.',
    body: 'CreateBatchRequest',
    responses: {
      '200': { description: 'The batch, `validating`.', content: json('Batch') },
      '400': openAiError('A bad endpoint, completion window, field, or a file that is not a batch input.'),
      '404': openAiError("No such input file (or another tenant's)."),
    },
  },
  {
    method: 'get',
    path: '/v1/batches',
    operationId: 'listBatches',
    tags: ['batches'],
    summary: "The caller's batches, newest first",
    query: listBatchesQuerySchema,
    responses: { '200': { description: "OpenAI's cursor page.", content: json('BatchList') }, '400': openAiError('A bad parameter.') },
  },
  {
    method: 'get',
    path: '/v1/batches/{id}',
    operationId: 'getBatch',
    tags: ['batches'],
    summary: 'A batch: its state, timestamps, request counts and files',
    responses: { '200': { description: 'The batch.', content: json('Batch') }, '404': openAiError("No such batch (or another tenant's).") },
  },
  {
    method: 'post',
    path: '/v1/batches/{id}/cancel',
    operationId: 'cancelBatch',
    tags: ['batches'],
    summary: 'Cancel a batch: waiting lines are withdrawn, running ones finish, the partial output is written',
    responses: {
      '200': { description: 'The batch, `cancelling`.', content: json('Batch') },
      '404': openAiError("No such batch (or another tenant's)."),
      '409': openAiError('The batch has ended (`batch_not_cancellable`).'),
    },
  },
];
