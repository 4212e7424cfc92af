/**
 * Embeddings in a pool thread, on an embedding context of the thread's model. The context is
 * created by the thread's first embedding task, not at start: a worker that only generates never
 * pays its memory (a KV cache of CONTEXT_SIZE tokens, and compute buffers). It decodes on as many
 * llama.cpp threads as a generation context (LLAMA_THREADS), so an embedding job takes the CPU
 * share of one more context while it runs, never the whole machine.
 */
import type { LlamaEmbeddingContext, LlamaModel } from 'node-llama-cpp';
import { encodeVector } from '../core/contract/embedding-vectors.ts';
import { jobFailure } from '../core/contract/failure.ts';
import { embeddingInputFits, embeddingInputTokens, embeddingInputTooLong } from '../core/contract/prompt-tokens.ts';
import { cancelSignal } from './cancel-signal.ts';
import type { EmbedOutcome, EmbedTask } from './inference-protocol.ts';

/** node-llama-cpp's refusal of an input that does not fit, should its count ever differ from ours. */
const TOO_LONG = /longer than the usable context size/;

export class ThreadEmbedder {
  private context: Promise<LlamaEmbeddingContext> | undefined;
  /** The task before this one: tasks run one after another, as the one context can only evaluate one input at a time. */
  private previous: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly model: LlamaModel,
    private readonly options: { contextSize: number; threads: number },
  ) {}

  async embed(task: EmbedTask): Promise<EmbedOutcome> {
    const { port, inputs } = task;
    try {
      // Counted before anything runs, with the model's tokenizer alone: a refused request creates no context.
      let inputTokens = 0;
      for (const [index, text] of inputs.entries()) {
        const tokens = embeddingInputTokens(this.model, text);
        if (!embeddingInputFits(tokens, this.options.contextSize)) {
          return { ok: false, failure: embeddingInputTooLong(tokens, this.options.contextSize, inputs.length > 1 ? index : undefined) };
        }
        inputTokens += tokens;
      }
      const signal = cancelSignal(port);
      const arrived = performance.now();
      const turn = this.previous.then(() => this.run(inputs, signal, arrived));
      this.previous = turn.catch(() => undefined);
      const outcome = await turn;
      return outcome.ok ? { ...outcome, inputTokens: outcome.cancelled ? 0 : inputTokens } : outcome;
    } finally {
      port.close();
    }
  }

  private async run(inputs: string[], signal: AbortSignal, arrived: number): Promise<EmbedOutcome> {
    const dimensions = this.model.embeddingVectorSize;
    const cancelled = (waitMs: number, embeddingMs = 0): EmbedOutcome => ({ ok: true, vectors: [], dimensions, cancelled: true, inputTokens: 0, waitMs, embeddingMs });
    // A task cancelled while it waited for its turn never creates the context.
    if (signal.aborted) return cancelled(round(performance.now() - arrived));
    const created = this.context === undefined ? performance.now() : undefined;
    const context = await this.contextOnce();
    const started = performance.now();
    const waitMs = round(started - arrived);
    const vectors: string[] = [];
    for (const text of inputs) {
      // Between inputs: an input's evaluation cannot be interrupted, and is short.
      if (signal.aborted) return cancelled(waitMs, round(performance.now() - started));
      let vector: readonly number[];
      try {
        ({ vector } = await context.getEmbeddingFor(text));
      } catch (error) {
        if (!TOO_LONG.test((error as Error).message)) throw error;
        return { ok: false, failure: jobFailure('prompt_too_long', (error as Error).message) };
      }
      vectors.push(encodeVector(vector));
    }
    return {
      ok: true,
      vectors,
      dimensions,
      cancelled: false,
      inputTokens: 0,
      waitMs,
      embeddingMs: round(performance.now() - started),
      ...(created === undefined ? {} : { contextCreatedMs: round(started - created) }),
    };
  }

  /** The thread's embedding context, created on first use; a creation that failed is tried again by the next task. */
  private contextOnce(): Promise<LlamaEmbeddingContext> {
    this.context ??= this.model
      .createEmbeddingContext({
        contextSize: this.options.contextSize,
        threads: this.options.threads,
        // Models that pool over the whole input (BERT-like embedding models) need it in one batch.
        batchSize: this.options.contextSize,
      })
      .catch((error: unknown) => {
        this.context = undefined;
        throw error;
      });
    return this.context;
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
