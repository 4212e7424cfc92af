/**
 * The baseline of pairs 1 and 2: node-llama-cpp called directly in one process, with the same
 * context settings (one context per pool thread, its threads and sequences, context size) and the
 * same per-request work as a pool thread (a fresh completion on a free sequence, its history
 * cleared afterwards). Contexts decode concurrently (node-llama-cpp runs each off the main thread).
 * Settings: BENCH_MODEL_PATH, BENCH_CONTEXTS, BENCH_SEQUENCES, BENCH_THREADS, BENCH_CONTEXT_SIZE.
 */
import { getLlama, LlamaCompletion, type LlamaContextSequence } from 'node-llama-cpp';
import { closedLoop } from '../load/closed-loop.ts';
import { serveBaseline } from './child.ts';
import type { GenerationSpec, LatencyReply, LlamaCommand, ThroughputReply } from './llama-protocol.ts';

const contexts = Number(process.env.BENCH_CONTEXTS ?? 1);
const sequences = Number(process.env.BENCH_SEQUENCES ?? 1);
const threads = Number(process.env.BENCH_THREADS ?? 1);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
const model = await llama.loadModel({ modelPath: process.env.BENCH_MODEL_PATH ?? '' });
const contextSize = Math.min(Number(process.env.BENCH_CONTEXT_SIZE ?? 2048), model.trainContextSize);
const free: LlamaContextSequence[] = [];
for (let i = 0; i < contexts; i++) {
  const context = await model.createContext({ contextSize, sequences, threads });
  for (let j = 0; j < sequences; j++) free.push(context.getSequence());
}
const waiting: Array<(sequence: LlamaContextSequence) => void> = [];

async function acquire(): Promise<LlamaContextSequence> {
  const sequence = free.pop();
  if (sequence) return sequence;
  return await new Promise((resolve) => waiting.push(resolve));
}

function release(sequence: LlamaContextSequence): void {
  const next = waiting.shift();
  if (next) next(sequence);
  else free.push(sequence);
}

/** One generation, timed from the call to the cleared sequence. */
async function generate(spec: GenerationSpec): Promise<{ ms: number; tokens: number }> {
  const sequence = await acquire();
  const started = performance.now();
  const completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
  let tokens = 0;
  try {
    await completion.generateCompletion(spec.prompt, {
      maxTokens: spec.maxTokens,
      temperature: spec.temperature,
      disableContextShift: true,
      onToken: (chunk) => {
        tokens += chunk.length;
      },
    });
  } finally {
    completion.dispose();
    await sequence.clearHistory();
    release(sequence);
  }
  return { ms: performance.now() - started, tokens };
}

async function handle(command: LlamaCommand): Promise<LatencyReply | ThroughputReply> {
  if (command.type === 'latency') {
    const reply: LatencyReply = { ms: [], tokens: [] };
    for (let i = 0; i < command.count; i++) {
      const { ms, tokens } = await generate(command);
      reply.ms.push(ms);
      reply.tokens.push(tokens);
    }
    return reply;
  }
  const { tokens, requests, elapsedMs } = await closedLoop(command.clients, command.durationMs, () => generate(command));
  return { tokens, requests, elapsedMs };
}

serveBaseline(handle, { contexts, sequences, threads, contextSize, llamaCppRelease: llama.llamaCppRelease });
