/**
 * A piscina pool thread: loads the model once (the thread becomes ready only then) and serves
 * CONTEXTS_PER_THREAD × SEQUENCES_PER_CONTEXT generations at a time. The contexts share the one
 * copy of the weights and decode in parallel, each on its own llama.cpp threads (node-llama-cpp
 * runs a context's decoding off this thread); each batches its own sequences. Embeddings run on
 * an embedding context of their own, created when the first embedding task comes (thread-embeddings.ts).
 */
import { workerData } from 'node:worker_threads';
import {
  getLlama,
  LlamaChat,
  LlamaCompletion,
  LlamaLogLevel,
  type ChatHistoryItem,
  type ChatModelFunctions,
  type ChatWrapper,
  type LlamaChatResponseChunk,
  type LlamaContextSequence,
  type LlamaGrammar,
  type Token,
  type TokenBias,
} from 'node-llama-cpp';
import { finalText } from '../core/contract/append-only-text.ts';
import { jobFailure, type JobFailure } from '../core/contract/failure.ts';
import { completionPromptTokens, generationRoom, promptTooLong } from '../core/contract/prompt-tokens.ts';
import type { FinishReason } from '../core/job-contract.ts';
import { cancelSignal } from './cancel-signal.ts';
import { chatPromptTokenCount, chatWrapperFor, toChatHistory } from './chat-prompt.ts';
import { GrammarCache } from './grammar-cache.ts';
import { samplingOptions, tokenBiasFor, type RunOptions } from './sampling-options.ts';
import { ThreadEmbedder } from './thread-embeddings.ts';
import { TokenProbabilities } from './token-probabilities.ts';
import { TokenRelay } from './token-relay.ts';
import { chatFunctions, forcingACall } from './tool-calls.ts';
import {
  type EmbedOutcome,
  type GenerateOutcome,
  type GenerateTask,
  type ModelInfo,
  type Task,
  type ThreadSettings,
} from './inference-protocol.ts';

const settings = (workerData as { settings: ThreadSettings }).settings;

const loadStart = performance.now();
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: settings.modelPath });
const contextSize = Math.min(settings.contextSize, model.trainContextSize);
const freeSequences: LlamaContextSequence[] = [];
for (let i = 0; i < settings.contexts; i++) {
  const context = await model.createContext({ contextSize, sequences: settings.sequences, threads: settings.threads });
  for (let j = 0; j < settings.sequences; j++) freeSequences.push(context.getSequence());
}
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
  embeddingSize: model.embeddingVectorSize,
};
const chatWrapper = chatWrapperFor(model);
const embedder = new ThreadEmbedder(model, { contextSize, threads: settings.threads });
const grammars = new GrammarCache(llama);

const FINISH: Record<string, FinishReason> = {
  eogToken: 'stop',
  stopGenerationTrigger: 'stop',
  customStopTrigger: 'stop',
  functionCalls: 'tool_calls',
  maxTokens: 'length',
  abort: 'cancelled',
};

/** What a task asks the model for, how many tokens its prompt takes in the context, and its logit bias. */
type Prepared = { input: { prompt: string } | ChatInput; promptTokens: number; maxTokens: number; tokenBias?: TokenBias | undefined };

/** A chat job's history, and the functions it may call with the wrapper that renders them (tool-calls.ts). */
interface ChatInput {
  history: ChatHistoryItem[];
  wrapper: ChatWrapper;
  functions?: ChatModelFunctions | undefined;
  /** Most calls in one answer: 1 unless the job allows parallel calls. */
  maxCalls?: number | undefined;
}

function chatInput(task: GenerateTask & { messages: NonNullable<GenerateTask['messages']> }): ChatInput {
  const history = toChatHistory(task.messages);
  const { tools } = task.sampling;
  if (!tools) return { history, wrapper: chatWrapper };
  return {
    history,
    wrapper: tools.choice === 'auto' ? chatWrapper : forcingACall(chatWrapper),
    functions: chatFunctions(tools),
    maxCalls: tools.parallel ? undefined : 1,
  };
}

/** The task's input, counted and checked against the context, or the failure that refuses it. */
function prepare(task: GenerateTask): Prepared | { failure: JobFailure } {
  let input: Prepared['input'];
  let promptTokens: number;
  if (task.messages !== undefined) {
    input = chatInput({ ...task, messages: task.messages });
    promptTokens = chatPromptTokenCount(input.wrapper, input.history, model.tokenizer, input.functions);
  } else if (task.prompt !== undefined) {
    input = { prompt: task.prompt };
    promptTokens = completionPromptTokens(model, task.prompt);
  } else {
    return { failure: jobFailure('invalid_request', 'a job needs a prompt or messages') };
  }
  const room = generationRoom(promptTokens, contextSize, 'history' in input ? 'chat' : 'completion');
  if (room < 1) return { failure: promptTooLong(promptTokens, contextSize) };
  const tokenBias = tokenBiasFor(model, task.sampling.logit_bias);
  if (tokenBias && 'failure' in tokenBias) return tokenBias;
  return { input, promptTokens, maxTokens: Math.min(task.sampling.max_tokens, room), tokenBias };
}

/** The grammar of the task's response format, or the failure that refuses it (the API checked the schema, so only a bug or a limit gets here). */
async function grammarFor(task: GenerateTask): Promise<{ grammar?: LlamaGrammar | undefined } | { failure: JobFailure }> {
  const format = task.sampling.response_format;
  if (!format) return {};
  try {
    return { grammar: await grammars.get(format) };
  } catch (error) {
    return { failure: jobFailure('invalid_request', `response_format: no grammar could be made of it: ${(error as Error).message}`) };
  }
}

const NO_TIMINGS = { ttft_ms: 0, generation_ms: 0, tokens_per_second: 0 };

async function generate(task: GenerateTask): Promise<GenerateOutcome> {
  const { port, sampling } = task;
  const prepared = prepare(task);
  if ('failure' in prepared) return { ok: false, failure: prepared.failure };
  const constraint = await grammarFor(task);
  if ('failure' in constraint) return { ok: false, failure: constraint.failure };
  const signal = cancelSignal(port);

  // A prefetched task waits here for a sequence; one cancelled meanwhile never takes one.
  const arrived = performance.now();
  const sequence = await acquireSequence(signal);
  const waitMs = round(performance.now() - arrived);
  if (!sequence) {
    port.close();
    return { ok: true, text: '', finishReason: 'cancelled', promptTokens: 0, completionTokens: 0, waitMs, timings: NO_TIMINGS };
  }

  const relay = new TokenRelay(port, settings.tokenFlushMs);
  const probabilities = sampling.logprobs === undefined ? undefined : new TokenProbabilities(model, sampling.logprobs);
  const stopRecording = probabilities?.record(sequence);
  const onChunk: OnChunk = (tokens, text, inAnswer) => {
    relay.onToken(tokens);
    const logprobs = inAnswer ? probabilities?.entries(tokens, text) : probabilities?.skip(tokens);
    if (inAnswer && (text !== '' || (logprobs !== undefined && logprobs.length > 0))) relay.onTextChunk(text, logprobs);
  };
  const options: RunOptions = { sampling, maxTokens: prepared.maxTokens, signal, grammar: constraint.grammar, tokenBias: prepared.tokenBias };
  const { input } = prepared;
  const generator = 'history' in input ? runChat(sequence, input, options, onChunk) : runCompletion(sequence, input.prompt, options, onChunk);
  try {
    const { response, stopReason, toolCalls } = await generator.result.catch((error: unknown): RunResult => {
      // Stopped before its first token, node-llama-cpp's chat throws the abort rather than
      // returning the nothing it has: a cancel all the same, never a failure to retry.
      if (signal.aborted) return { response: '', stopReason: 'abort' };
      throw error;
    });
    return {
      ok: true,
      text: finalText(response, relay.emittedText),
      finishReason: FINISH[stopReason] ?? 'stop',
      promptTokens: prepared.promptTokens,
      completionTokens: relay.completionTokens,
      waitMs,
      timings: relay.timings(),
      ...(probabilities ? { logprobs: relay.emittedLogprobs } : {}),
      ...(toolCalls && toolCalls.length > 0 ? { toolCalls } : {}),
    };
  } finally {
    relay.stop();
    stopRecording?.();
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

/** Tokens the generation released and their text; `inAnswer` is false for segments kept out of the answer (a reasoning model's thoughts). */
type OnChunk = (tokens: Token[], text: string, inAnswer: boolean) => void;

interface RunResult {
  response: string;
  stopReason: string;
  /** The calls that ended a chat generation (`functionCalls`): the name, and the arguments as JSON text. */
  toolCalls?: { name: string; arguments: string }[];
}

interface Run {
  result: Promise<RunResult>;
  dispose(): void;
}

function runCompletion(
  sequence: LlamaContextSequence,
  prompt: string,
  options: RunOptions,
  onChunk: OnChunk,
): Run {
  // node-llama-cpp reports a chunk's tokens, then its text.
  let released: Token[] = [];
  const onToken = (tokens: Token[]) => {
    released = tokens;
  };
  const onTextChunk = (text: string) => {
    onChunk(released, text, true);
    released = [];
  };
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
function runChat(sequence: LlamaContextSequence, input: ChatInput, options: RunOptions, onChunk: OnChunk): Run {
  const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: input.wrapper, autoDisposeSequence: false });
  const generation = {
    ...samplingOptions(options),
    onResponseChunk(chunk: LlamaChatResponseChunk) {
      onChunk(chunk.tokens, chunk.text, chunk.type === undefined);
    },
  };
  // A job has functions or a grammar (the API refuses both at once), as LlamaChat takes one or the other.
  const result = input.functions
    ? chat
        .generateResponse(input.history, { ...generation, grammar: undefined, functions: input.functions, documentFunctionParams: true, maxParallelFunctionCalls: input.maxCalls })
        .then(({ response, metadata, functionCalls }) => ({
          response,
          stopReason: metadata.stopReason,
          toolCalls: (functionCalls ?? []).map((call) => ({ name: call.functionName, arguments: JSON.stringify(call.params ?? {}) })),
        }))
    : chat.generateResponse(input.history, generation).then(({ response, metadata }) => ({ response, stopReason: metadata.stopReason }));
  return { result, dispose: () => chat.dispose() };
}

export default async function run(task: Task): Promise<ModelInfo | GenerateOutcome | EmbedOutcome> {
  if (task.type === 'info') return info;
  if (task.type === 'embed') return await embedder.embed(task);
  return await generate(task);
}
