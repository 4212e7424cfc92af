import { MessageChannel } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { ModelError } from '../core/errors.ts';
import type { ChatMessage, Sampling } from '../core/job-contract.ts';
import {
  CANCEL_MESSAGE,
  type EmbedOutcome,
  type GenerateOutcome,
  type ModelInfo,
  type Task,
  type ThreadSettings,
  type TokenEvent,
} from './inference-protocol.ts';

const runningFromSources = import.meta.url.endsWith('.ts');
const threadModule = new URL(runningFromSources ? './inference-thread.ts' : './inference-thread.js', import.meta.url);
const entryFile = runningFromSources ? new URL('./thread-bootstrap.mjs', import.meta.url) : threadModule;

export interface Generation {
  outcome: Promise<GenerateOutcome>;
  /** Asks the thread to stop; generation ends within a token or two with the partial text. */
  cancel(): void;
}

export interface Embedding {
  outcome: Promise<EmbedOutcome>;
  /** Asks the thread to stop before its next input; the outcome is then cancelled, without vectors. */
  cancel(): void;
}

/** The worker's inference engine: POOL_THREADS threads, each with one copy of the model and its contexts' sequences. */
export class InferencePool {
  private constructor(
    private readonly piscina: Piscina,
    readonly model: ModelInfo,
    /** Sequences: generations that can run at once. */
    readonly capacity: number,
    /** Generations the pool accepts at once: its sequences plus those prefetched, waiting in their threads. */
    readonly slots: number,
  ) {}

  /**
   * `prefetch`: tasks each thread accepts beyond its sequences; they wait in the thread for a sequence.
   * `known`: facts the main thread read from the GGUF header (file type), which override the thread's.
   */
  static async start(settings: ThreadSettings, threads: number, prefetch: number, known: Partial<ModelInfo> = {}): Promise<InferencePool> {
    const piscina = new Piscina({
      filename: fileURLToPath(entryFile),
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: settings.contexts * settings.sequences + prefetch,
      idleTimeout: Number.POSITIVE_INFINITY,
      // Threads must keep their event loops free between awaits so cancel messages arrive.
      atomics: 'disabled',
      workerData: { settings, entry: threadModule.href },
    });
    let model: ModelInfo;
    try {
      model = (await piscina.run({ type: 'info' } satisfies Task)) as ModelInfo;
    } catch (error) {
      await piscina.destroy();
      throw new ModelError('model_load_failed', `llama.cpp could not load ${settings.modelPath}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const perThread = settings.contexts * settings.sequences;
    return new InferencePool(piscina, { ...model, ...known }, threads * perThread, threads * (perThread + prefetch));
  }

  generate(input: { prompt?: string; messages?: ChatMessage[]; sampling: Sampling }, onToken: (event: TokenEvent) => void): Generation {
    const { port1, port2 } = new MessageChannel();
    port1.on('message', onToken);
    this.running += 1;
    const outcome = this.piscina
      .run({ type: 'generate', ...input, port: port2 } satisfies Task, { transferList: [port2] })
      .then((value) => value as GenerateOutcome)
      .finally(() => {
        this.running -= 1;
        port1.close();
      });
    return {
      outcome,
      cancel: () => port1.postMessage(CANCEL_MESSAGE),
    };
  }

  /**
   * The vectors of every input, from a pool thread's embedding context (created there by its first
   * embedding task). Not counted as busy: it takes a task slot of its thread, but no sequence.
   */
  embed(inputs: string[]): Embedding {
    const { port1, port2 } = new MessageChannel();
    const outcome = this.piscina
      .run({ type: 'embed', inputs, port: port2 } satisfies Task, { transferList: [port2] })
      .then((value) => value as EmbedOutcome)
      .finally(() => port1.close());
    return { outcome, cancel: () => port1.postMessage(CANCEL_MESSAGE) };
  }

  /** Sequences generating right now. Prefetched tasks wait only while every sequence is busy. */
  get busy(): number {
    return Math.min(this.running, this.capacity);
  }

  private running = 0;

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
