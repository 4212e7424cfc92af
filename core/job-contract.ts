import { z } from 'zod';

/**
 * The job contract shared by the API (which validates and enqueues) and the worker (which runs).
 * The HTTP schemas here are also the source of the OpenAPI document, so they cannot drift apart.
 */

export const JOB_STATUSES = ['waiting', 'active', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** The statuses a job never leaves: its result or failure is final. */
export const FINISHED_STATUSES: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);

export function isFinished(status: JobStatus): boolean {
  return FINISHED_STATUSES.has(status);
}

export const FINISH_REASONS = ['stop', 'length', 'cancelled'] as const;
export type FinishReason = (typeof FINISH_REASONS)[number];

export interface RequestLimits {
  maxTokensLimit: number;
  defaultMaxTokens: number;
  maxPromptChars: number;
  maxWaitMs: number;
  defaultWaitMs: number;
}

/** Sampling parameters as the worker receives them: every default already applied. */
export const samplingSchema = z.object({
  max_tokens: z.number().int(),
  temperature: z.number(),
  top_p: z.number(),
  top_k: z.number().int(),
  seed: z.number().int().optional(),
  stop: z.array(z.string()),
});
export type Sampling = z.infer<typeof samplingSchema>;

/** Default temperature follows llama.cpp's server; send `temperature: 0` for greedy, cacheable output. */
export const DEFAULT_TEMPERATURE = 0.8;
export const DEFAULT_TOP_P = 0.95;
export const DEFAULT_TOP_K = 40;
/** Priorities 1 (first) to 10 (last); BullMQ runs lower numbers first. */
export const DEFAULT_PRIORITY = 5;
/**
 * The priority class of batch lines: below every interactive priority (1-10), so a request that
 * comes while a batch runs waits only for the lines already running, never for the batch's queue.
 */
export const BATCH_PRIORITY = 100;
/**
 * BullMQ orders its prioritized set by `priority * 2^32 + arrival`: scores below this are
 * interactive jobs. Fair scheduling counts only those as its ready set (core/fair/admission-scripts.ts).
 */
export const BATCH_SCORE_FLOOR = BATCH_PRIORITY * 2 ** 32;

export function generationRequestSchema(limits: RequestLimits) {
  return z.strictObject({
    prompt: z
      .string()
      .min(1, 'prompt must not be empty')
      .max(limits.maxPromptChars, `prompt must be at most ${limits.maxPromptChars} characters`)
      .describe('Text to continue.'),
    max_tokens: z
      .number()
      .int()
      .min(1)
      .max(limits.maxTokensLimit)
      .default(limits.defaultMaxTokens)
      .describe('Most tokens to generate.'),
    temperature: z.number().min(0).max(2).default(DEFAULT_TEMPERATURE).describe('0 is greedy (deterministic).'),
    top_p: z.number().gt(0).max(1).default(DEFAULT_TOP_P),
    top_k: z.number().int().min(0).max(1000).default(DEFAULT_TOP_K).describe('0 disables top-k.'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .optional()
      .describe('Fixed seed: the same request gives the same text, and may be cached.'),
    stop: z
      .array(z.string().min(1).max(200))
      .max(8)
      .default([])
      .describe('Generation stops before any of these strings.'),
    priority: z.number().int().min(1).max(10).default(DEFAULT_PRIORITY).describe('1 runs first, 10 last.'),
    cache: z.boolean().default(true).describe('false bypasses the result cache and in-flight sharing.'),
  });
}
export type GenerationRequest = z.infer<ReturnType<typeof generationRequestSchema>>;

export function generateWaitRequestSchema(limits: RequestLimits) {
  return generationRequestSchema(limits).extend({
    timeout_ms: z
      .number()
      .int()
      .min(0)
      .max(limits.maxWaitMs)
      .default(limits.defaultWaitMs)
      .describe('How long to wait for the result before answering 202.'),
  });
}

/** A chat message, for jobs made by the OpenAI-compatible chat endpoint. */
export const chatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
export type ChatMessage = z.infer<typeof chatMessageSchema>;

/**
 * What an embedding job computes: one vector per input, in order. Every input of a request goes in
 * one job, so a request is queued, cached, shared and cancelled as a whole.
 */
export interface EmbeddingInput {
  inputs: string[];
  /**
   * The vector size the client asked for (OpenAI's `dimensions`). Vectors are never shortened: a
   * worker whose model has another size fails the job as `invalid_request`.
   */
  dimensions?: number;
}

/** What a job is given: `prompt` (completion), `messages` (chat) or `embed` (embeddings), exactly one. */
export interface JobInput {
  prompt?: string;
  messages?: ChatMessage[];
  embed?: EmbeddingInput;
}

/** What a BullMQ job carries: its input (one of `prompt`, `messages`, `embed`) and how to run it. */
export interface JobData extends JobInput {
  sampling: Sampling;
  /**
   * The tenant that owns the job: only it (and admins) may read, follow or cancel it. Absent in
   * jobs queued before tenants existed, which belong to `anonymous`.
   */
  tenant?: string;
  /** Cache key when the request may be cached; the worker stores the result under it. */
  cacheKey?: string;
  /** Whose cache entry the result becomes: the tenant when the cache is per tenant, absent when global. */
  cacheOwner?: string;
  /** Model the client asked for (informational: a worker serves the model it has loaded). */
  model?: string;
  /** The batch this job is a line of (`line`: 1-based line of the input file); absent for interactive jobs. */
  batch?: { id: string; line: number };
  /** Epoch ms the API accepted the request. */
  acceptedAt: number;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface Timings {
  /** From acceptance by the API to the start of generation in a worker. */
  queued_ms: number;
  /** From the start of generation to the first generated token (prompt evaluation included). */
  ttft_ms: number;
  /** From the start of generation to the last token. */
  generation_ms: number;
  /** completion_tokens per second of generation after the first token. */
  tokens_per_second: number;
}

export interface GenerationResult {
  text: string;
  finish_reason: FinishReason;
  usage: Usage;
  model: string;
  cached: boolean;
  timings: Timings;
}

/**
 * The result of an embedding job: a generation that generated nothing (`text` empty, no completion
 * tokens), plus the vectors. So usage, quotas, job views, outcome metrics and the cache treat both
 * kinds of job alike; only the endpoints that serve vectors read `embeddings`. A cancelled job
 * (`finish_reason: 'cancelled'`) has none.
 */
export interface EmbeddingResult extends GenerationResult {
  /**
   * One vector per input, in input order, as OpenAI's `encoding_format: base64` sends it: float32
   * little-endian, base64. A quarter of the size of the numbers in JSON, in Redis and between the
   * processes, and exactly the floats the model computed (core/contract/embedding-vectors.ts).
   */
  embeddings: string[];
  /** The length of every vector: the model's embedding size. */
  dimensions: number;
}

export function isEmbeddingResult(result: GenerationResult): result is EmbeddingResult {
  return Array.isArray((result as Partial<EmbeddingResult>).embeddings);
}

/**
 * The sampling an embedding job carries: it samples nothing, and every job has sampling, so code
 * that reads it (a batch, Bull Board) needs no case for embeddings. Greedy and zero tokens.
 */
export const EMBEDDING_SAMPLING: Sampling = Object.freeze({ max_tokens: 0, temperature: 0, top_p: 1, top_k: 0, stop: [] as string[] });

/** Inputs one embedding request may carry: OpenAI's limit, so clients that batch by it need no setting. */
export const MAX_EMBEDDING_INPUTS = 2048;

/** How vectors are written in answers: JSON numbers, or OpenAI's base64 of float32 little-endian. */
export const ENCODING_FORMATS = ['float', 'base64'] as const;
export type EncodingFormat = (typeof ENCODING_FORMATS)[number];

/** The native body of POST /api/v1/embeddings. */
export function embeddingRequestSchema(limits: RequestLimits) {
  const text = z
    .string()
    .min(1, 'an input must not be empty')
    .max(limits.maxPromptChars, `an input must be at most ${limits.maxPromptChars} characters`);
  return z.strictObject({
    input: z
      .union([text, z.array(text).min(1, 'input must not be empty').max(MAX_EMBEDDING_INPUTS, `at most ${MAX_EMBEDDING_INPUTS} inputs`)], {
        error: 'input must be a string or an array of strings',
      })
      .describe(`Text to embed, or up to ${MAX_EMBEDDING_INPUTS} texts: one vector each, computed in one job.`),
    encoding_format: z.enum(ENCODING_FORMATS).default('float').describe('`base64`: each vector as float32 little-endian, base64 (as OpenAI).'),
    priority: z.number().int().min(1).max(10).default(DEFAULT_PRIORITY).describe('1 runs first, 10 last.'),
    cache: z.boolean().default(true).describe('false bypasses the result cache and in-flight sharing (vectors are deterministic: cached by default).'),
    timeout_ms: z
      .number()
      .int()
      .min(0)
      .max(limits.maxWaitMs)
      .default(limits.defaultWaitMs)
      .describe('How long to wait for the vectors before answering 202.'),
  });
}
export type EmbeddingRequest = z.infer<ReturnType<typeof embeddingRequestSchema>>;

/** What the worker's progress reports carry (BullMQ `job.progress`). */
export interface JobProgress {
  tokens: number;
}
