/**
 * A piscina pool thread: loads the model once (the thread becomes ready only then) and serves
 * SEQUENCES_PER_THREAD generations at a time from one llama.cpp context, which batches them.
 */
import { workerData } from 'node:worker_threads';
import { getLlama, LlamaChat, LlamaCompletion, type ChatHistoryItem, type LlamaContextSequence, type Token } from 'node-llama-cpp';
import type { FinishReason, Sampling } from '../core/job-contract.ts';
import { chatPromptTokenCount, chatWrapperFor, toChatHistory } from './chat-prompt.ts';
import { finalText } from './final-text.ts';
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
/** Tasks waiting for a sequence that is still being cleared after its previous job returned. */
const sequenceWaiters: ((sequence: LlamaContextSequence) => void)[] = [];

/** A free sequence, or undefined if `signal` aborts first (a prefetched task cancelled while it waits). */
function acquireSequence(signal: AbortSignal): Promise<LlamaContextSequence | undefined> {
  const sequence = freeSequences.pop();
  if (sequence || signal.aborted) return Promise.resolve(sequence);
  return new Promise((resolve) => {
    const waiter = (free: LlamaContextSequence) => {
      signal.removeEventListener('abort', onAbort);
      resolve(free);
    };
    const onAbort = () => {
      sequenceWaiters.splice(sequenceWaiters.indexOf(waiter), 1);
      resolve(undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    sequenceWaiters.push(waiter);
  });
}

function releaseSequence(sequence: LlamaContextSequence): void {
  const waiter = sequenceWaiters.shift();
  if (waiter) waiter(sequence);
  else freeSequences.push(sequence);
}
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
const chatWrapper = chatWrapperFor(model);

const FINISH: Record<string, FinishReason> = {
  eogToken: 'stop',
  stopGenerationTrigger: 'stop',
  customStopTrigger: 'stop',
  functionCalls: 'stop',
  maxTokens: 'length',
  abort: 'cancelled',
};

async function generate(task: GenerateTask): Promise<GenerateOutcome> {
  const { port, sampling } = task;
  let input: { prompt: string } | { history: ChatHistoryItem[] };
  let promptTokens: number;
  if (task.messages !== undefined) {
    input = { history: toChatHistory(task.messages) };
    promptTokens = chatPromptTokenCount(chatWrapper, input.history, model.tokenizer);
  } else if (task.prompt !== undefined) {
    input = { prompt: task.prompt };
    // LlamaCompletion prepends BOS to the tokenized prompt; count it, since the model evaluates it.
    promptTokens = model.tokenize(task.prompt, false, 'trimLeadingSpace').length + (model.tokens.bos === null ? 0 : 1);
  } else {
    return { ok: false, code: 'invalid_request', message: 'a job needs a prompt or messages' };
  }
  // LlamaChat shifts the context (drops history) once a sequence holds contextSize - 1 tokens;
  // one slot kept free means a chat never loses its beginning, it stops at the limit instead.
  const room = contextSize - promptTokens - ('history' in input ? 1 : 0);
  if (room < 1) {
    return {
      ok: false,
      code: 'prompt_too_long',
      message: `prompt is ${promptTokens} tokens; the context holds ${contextSize} tokens including the generated ones`,
    };
  }
  const maxTokens = Math.min(sampling.max_tokens, room);

  const abort = new AbortController();
  port.on('message', (message) => {
    if (message === CANCEL_MESSAGE) abort.abort();
  });

  // A prefetched task waits here for a sequence; one cancelled meanwhile never takes one.
  const arrived = performance.now();
  const sequence = await acquireSequence(abort.signal);
  const waitMs = round(performance.now() - arrived);
  if (!sequence) {
    port.close();
    return {
      ok: true,
      text: '',
      finishReason: 'cancelled',
      promptTokens: 0,
      completionTokens: 0,
      waitMs,
      timings: { ttft_ms: 0, generation_ms: 0, tokens_per_second: 0 },
    };
  }

  const started = performance.now();
  let firstTokenAt: number | undefined;
  let lastTokenAt = started;
  let completionTokens = 0;
  const onToken = (tokens: readonly Token[]) => {
    lastTokenAt = performance.now();
    firstTokenAt ??= lastTokenAt;
    completionTokens += tokens.length;
  };
  // Text goes to the main thread in batches: the first chunk at once (time to first token), later
  // ones coalesced for `tokenFlushMs`, so the main thread wakes a few times per job, not per token.
  // What is pending at the end is not sent: the final text in the outcome carries it.
  let pendingText = '';
  /** Every chunk's text, sent or still pending: what the job's stream carries in the end. */
  let emittedText = '';
  let flushTimer: NodeJS.Timeout | undefined;
  let sentFirst = false;
  const flush = () => {
    flushTimer = undefined;
    if (!pendingText) return;
    port.postMessage({ text: pendingText, tokens: completionTokens } satisfies TokenEvent);
    pendingText = '';
  };
  const onTextChunk = (text: string) => {
    pendingText += text;
    emittedText += text;
    if (!sentFirst) {
      sentFirst = true;
      flush();
    } else flushTimer ??= setTimeout(flush, settings.tokenFlushMs);
  };
  const options = { sampling, maxTokens, signal: abort.signal };
  const generator =
    'history' in input
      ? runChat(sequence, input.history, options, onToken, onTextChunk)
      : runCompletion(sequence, input.prompt, options, onToken, onTextChunk);
  try {
    const { response, stopReason } = await generator.result;
    const generationMs = (firstTokenAt === undefined ? performance.now() : lastTokenAt) - started;
    const decodeMs = firstTokenAt === undefined ? 0 : lastTokenAt - firstTokenAt;
    return {
      ok: true,
      text: finalText(response, emittedText),
      finishReason: FINISH[stopReason] ?? 'stop',
      promptTokens,
      completionTokens,
      waitMs,
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
    clearTimeout(flushTimer);
    generator.dispose();
    port.close();
    // A clean sequence for the next job (reusing a prefix would change batch shapes and so, slightly,
    // the numbers), cleared after this job's outcome is on its way.
    void sequence
      .clearHistory()
      .catch(() => undefined)
      .finally(() => releaseSequence(sequence));
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

interface RunOptions {
  sampling: Sampling;
  maxTokens: number;
  signal: AbortSignal;
}

interface Run {
  result: Promise<{ response: string; stopReason: string }>;
  dispose(): void;
}

function samplingOptions({ sampling, maxTokens, signal }: RunOptions) {
  return {
    maxTokens,
    temperature: sampling.temperature,
    topP: sampling.top_p,
    topK: sampling.top_k,
    ...(sampling.seed === undefined ? {} : { seed: sampling.seed }),
    customStopTriggers: sampling.stop,
    signal,
    stopOnAbortSignal: true,
  };
}

function runCompletion(
  sequence: LlamaContextSequence,
  prompt: string,
  options: RunOptions,
  onToken: (tokens: Token[]) => void,
  onTextChunk: (text: string) => void,
): Run {
  const completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
  const result = completion
    .generateCompletionWithMeta(prompt, { ...samplingOptions(options), disableContextShift: true, onToken, onTextChunk })
    .then(({ response, metadata }) => ({ response, stopReason: metadata.stopReason }));
  return { result, dispose: () => completion.dispose() };
}

/**
 * A chat job through the model's chat wrapper. Tokens of segments the wrapper separates from the
 * answer (a reasoning model's thoughts) count as generated but are not part of the text.
 */
function runChat(
  sequence: LlamaContextSequence,
  history: ChatHistoryItem[],
  options: RunOptions,
  onToken: (tokens: Token[]) => void,
  onTextChunk: (text: string) => void,
): Run {
  const chat = new LlamaChat({ contextSequence: sequence, chatWrapper, autoDisposeSequence: false });
  const result = chat
    .generateResponse(history, {
      ...samplingOptions(options),
      onResponseChunk(chunk) {
        onToken(chunk.tokens);
        if (chunk.type === undefined && chunk.text !== '') onTextChunk(chunk.text);
      },
    })
    .then(({ response, metadata }) => ({ response, stopReason: metadata.stopReason }));
  return { result, dispose: () => chat.dispose() };
}

export default async function run(task: Task): Promise<ModelInfo | GenerateOutcome> {
  if (task.type === 'info') return info;
  return await generate(task);
}
