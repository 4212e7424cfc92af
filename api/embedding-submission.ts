import { decodeVector } from '../core/contract/embedding-vectors.ts';
import { AppError, badRequest } from '../core/errors.ts';
import {
  EMBEDDING_SAMPLING,
  isEmbeddingResult,
  type EmbeddingResult,
  type EncodingFormat,
  type GenerationResult,
} from '../core/job-contract.ts';
import type { Submission } from './job-service.ts';

/**
 * The API's side of embedding jobs, shared by the native route and the OpenAI-compatible one:
 * the submission, the checks only the API can make early, and the vectors of the result.
 */

export interface EmbeddingSubmissionRequest {
  inputs: string[];
  dimensions?: number;
  priority: number;
  cache: boolean;
  /** The catalogue id of the model (`ModelLanes.resolve`). */
  model?: string;
}

/** Every input of a request in one job; cached and shared unless the client opts out, as vectors are deterministic. */
export function embeddingSubmission(request: EmbeddingSubmissionRequest, tenant: string): Submission {
  return {
    tenant,
    input: { embed: { inputs: request.inputs, ...(request.dimensions === undefined ? {} : { dimensions: request.dimensions }) } },
    sampling: { ...EMBEDDING_SAMPLING, stop: [] },
    priority: request.priority,
    cache: request.cache,
    ...(request.model === undefined ? {} : { model: request.model }),
  };
}

/**
 * Refuses `dimensions` other than the served model's embedding size, when a worker has reported
 * it. Until then the job carries `dimensions` and the worker that takes it refuses it.
 */
export function checkDimensions(dimensions: number | undefined, embeddingSize: number | undefined): void {
  if (dimensions === undefined || embeddingSize === undefined || dimensions === embeddingSize) return;
  throw badRequest(
    'unsupported_value',
    `dimensions is not supported by this server with this value: the model's vectors have ${embeddingSize} dimensions, and they are not shortened`,
    'dimensions',
  );
}

/** A cancelled embedding job has no vectors, and never will: its client gets a 409. */
export const embeddingCancelled = () => new AppError(409, 'job_cancelled', 'the embedding job was cancelled before its vectors were computed');

/** The vectors of a finished embedding job. */
export function finishedEmbedding(result: GenerationResult): EmbeddingResult {
  if (result.finish_reason === 'cancelled' || !isEmbeddingResult(result)) throw embeddingCancelled();
  return result;
}

/** The vectors in the format the client asked for: numbers, or base64 as the job stored them. */
export function vectorsIn(result: EmbeddingResult, format: EncodingFormat): number[][] | string[] {
  return format === 'base64' ? result.embeddings : result.embeddings.map(decodeVector);
}
