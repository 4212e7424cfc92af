/**
 * A piscina pool thread: loads the model once (the thread becomes ready only then) and serves
 * SEQUENCES_PER_THREAD generations at a time from one llama.cpp context, which batches them.
 */
import { workerData } from 'node:worker_threads';
import { getLlama, LlamaCompletion, type LlamaContextSequence, type Token } from 'node-llama-cpp';
import type { FinishReason } from '../core/job-contract.ts';
import {
  CANCEL_MESSAGE,
  type GenerateOutcome,
  type GenerateTask,
  type ModelInfo,
  type Task,
  type ThreadSettings,
  type TokenEvent,
} from './inference-protocol.ts';

const settings = (workerData as { settings: ThreadSettings }).settings;

const loadStart = performance.now();
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
const model = await llama.loadModel({ modelPath: settings.modelPath });
const contextSize = Math.min(settings.contextSize, model.trainContextSize);
const context = await model.createContext({
  contextSize,
  sequences: settings.sequences,
  threads: settings.threads,
});
const freeSequences: LlamaContextSequence[] = Array.from({ length: settings.sequences }, () => context.getSequence());
const loadMs = performance.now() - loadStart;

const info: ModelInfo = {
  path: settings.modelPath,
  architecture: model.fileInfo.metadata.general.architecture ?? 'unknown',
  parameters: model.fileInsights.totalParameters ?? undefined,
  fileType: model.fileInfo.metadata.general.file_type !== undefined ? String(model.fileInfo.metadata.general.file_type) : 'unknown',
  contextSize,
  trainContextSize: model.trainContextSize,
  sizeBytes: model.size,
  loadMs,
  hasChatTemplate: typeof model.fileInfo.metadata.tokenizer?.chat_template === 'string',
};

const FINISH: Record<string, FinishReason> = {
  eogToken: 'stop',
  stopGenerationTrigger: 'stop',
  customStopTrigger: 'stop',
  maxTokens: 'length',
  abort: 'cancelled',
};

async function generate(task: GenerateTask): Promise<GenerateOutcome> {
  const { port, sampling } = task;
  const prompt = task.prompt;
  if (prompt === undefined) return { ok: false, code: 'invalid_request', message: 'a job needs a prompt' };

  // LlamaCompletion prepends BOS to the tokenized prompt; count it, since the model evaluates it.
  const promptTokens = model.tokenize(prompt, false, 'trimLeadingSpace').length + (model.tokens.bos === null ? 0 : 1);
  if (promptTokens >= contextSize) {
    return {
      ok: false,
      code: 'prompt_too_long',
      message: `prompt is ${promptTokens} tokens; the context holds ${contextSize} tokens including the generated ones`,
    };
  }
  const maxTokens = Math.min(sampling.max_tokens, contextSize - promptTokens);

  const sequence = freeSequences.pop();
  if (!sequence) return { ok: false, code: 'no_free_sequence', message: 'no free sequence in this pool thread' };

  const abort = new AbortController();
  port.on('message', (message) => {
    if (message === CANCEL_MESSAGE) abort.abort();
  });

  const completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
  const started = performance.now();
  let firstTokenAt: number | undefined;
  let lastTokenAt = started;
  let completionTokens = 0;
  try {
    const { response, metadata } = await completion.generateCompletionWithMeta(prompt, {
      maxTokens,
      temperature: sampling.temperature,
      topP: sampling.top_p,
      topK: sampling.top_k,
      ...(sampling.seed === undefined ? {} : { seed: sampling.seed }),
      customStopTriggers: sampling.stop,
      signal: abort.signal,
      stopOnAbortSignal: true,
      disableContextShift: true,
      onToken(tokens: Token[]) {
        lastTokenAt = performance.now();
        firstTokenAt ??= lastTokenAt;
        completionTokens += tokens.length;
      },
      onTextChunk(text: string) {
        port.postMessage({ text, tokens: completionTokens } satisfies TokenEvent);
      },
    });
    const generationMs = (firstTokenAt === undefined ? performance.now() : lastTokenAt) - started;
    const decodeMs = firstTokenAt === undefined ? 0 : lastTokenAt - firstTokenAt;
    return {
      ok: true,
      text: response,
      finishReason: FINISH[metadata.stopReason] ?? 'stop',
      promptTokens,
      completionTokens,
      timings: {
        ttft_ms: round((firstTokenAt ?? performance.now()) - started),
        generation_ms: round(generationMs),
        tokens_per_second:
          completionTokens > 1 && decodeMs > 0
            ? round(((completionTokens - 1) * 1000) / decodeMs)
            : completionTokens > 0 && generationMs > 0
              ? round((completionTokens * 1000) / generationMs)
              : 0,
      },
    };
  } finally {
    completion.dispose();
    // A clean sequence for the next job: reusing a prefix would change batch shapes and so, slightly, the numbers.
    await sequence.clearHistory();
    freeSequences.push(sequence);
    port.close();
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

export default async function run(task: Task): Promise<ModelInfo | GenerateOutcome> {
  if (task.type === 'info') return info;
  return await generate(task);
}
