import type { MessagePort } from 'node:worker_threads';
import type { JobFailure } from '../core/contract/failure.ts';
import type { TokenLogprob } from '../core/contract/logprobs.ts';
import type { ChatMessage, FinishReason, Sampling, Timings } from '../core/job-contract.ts';

/** What the main thread gives each pool thread at start (piscina `workerData`). */
export interface ThreadSettings {
  modelPath: string;
  contextSize: number;
  /** llama.cpp contexts of the thread, all on its one copy of the model; each decodes on its own llama.cpp threads. */
  contexts: number;
  /** Sequences of each context, batched together. */
  sequences: number;
  /** llama.cpp threads of each context. */
  threads: number;
  /** Token text after a generation's first chunk is sent to the main thread in batches this far apart (ms). */
  tokenFlushMs: number;
}

/** Facts about the loaded model, reported once by a pool thread. */
export interface ModelInfo {
  path: string;
  architecture: string;
  parameters: number | undefined;
  fileType: string;
  contextSize: number;
  trainContextSize: number;
  sizeBytes: number;
  loadMs: number;
  hasChatTemplate: boolean;
  /** Length of the model's embedding vectors. */
  embeddingSize: number;
}

export interface InfoTask {
  type: 'info';
}

export interface GenerateTask {
  type: 'generate';
  prompt?: string;
  messages?: ChatMessage[];
  sampling: Sampling;
  /** Tokens flow out through this port as they are generated; `'cancel'` flows in. */
  port: MessagePort;
}

/**
 * Vectors for every input of an embedding job, computed one after another on the thread's
 * embedding context, which the first such task creates.
 */
export interface EmbedTask {
  type: 'embed';
  inputs: string[];
  /** `'cancel'` flows in; the task stops before its next input. */
  port: MessagePort;
}

export type Task = InfoTask | GenerateTask | EmbedTask;

/** Posted on the task's port: text generated since the previous event, and the running token count. */
export interface TokenEvent {
  text: string;
  tokens: number;
  /** The entries of the tokens that carried the text, when the task's sampling asked for logprobs. */
  logprobs?: TokenLogprob[];
}

export const CANCEL_MESSAGE = 'cancel';

/** Failures of the request itself come back as values: errors crossing threads lose their fields. */
export type GenerateOutcome =
  | {
      ok: true;
      text: string;
      finishReason: FinishReason;
      promptTokens: number;
      completionTokens: number;
      /** Time the task waited in its thread for a free sequence (prefetched tasks), in ms. */
      waitMs: number;
      timings: Omit<Timings, 'queued_ms'>;
      /** One entry per token of `text`, when the task's sampling asked for logprobs. */
      logprobs?: TokenLogprob[];
      /** The calls the model made (`finishReason: 'tool_calls'`), without ids (the processor names them). */
      toolCalls?: { name: string; arguments: string }[];
    }
  | { ok: false; failure: JobFailure };

export type EmbedOutcome =
  | {
      ok: true;
      /** One vector per input, encoded (core/contract/embedding-vectors.ts); none when cancelled. */
      vectors: string[];
      dimensions: number;
      cancelled: boolean;
      /** Tokens evaluated, over all inputs. */
      inputTokens: number;
      /** Time the task waited for the thread's embedding context (another job's vectors, or its creation), in ms. */
      waitMs: number;
      /** Time computing the vectors, in ms. */
      embeddingMs: number;
      /** Set when this task created the thread's embedding context: how long that took, in ms. */
      contextCreatedMs?: number;
    }
  | { ok: false; failure: JobFailure };
