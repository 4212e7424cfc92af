/**
 * `npm run bench:choices`: what `n` choices cost as n jobs (the system's design), next to what the
 * engine alone needs for the same n generations in one pool thread (what one job holding n
 * sequences could at best achieve: it runs in one thread, and pays no per-job cost).
 *
 * 1. The system (from `dist/`, built first) with its default settings and a private redis-server:
 *    `BENCH_CHOICES_ROUNDS` (default 5) chat requests of `n: 1` and of `n: BENCH_CHOICES_N` (default
 *    4), sampled with a seed, `BENCH_CHOICES_TOKENS` (default 64) tokens, cache off, one at a time.
 * 2. The system idle, node-llama-cpp in this process with one pool thread's contexts, sequences
 *    and llama.cpp threads from the same plan: the same chat, 1 and n generations at once.
 *
 * Prints the latencies (median of the rounds) and generated tokens per second of each.
 * Settings as for `npm run bench`: BENCH_MODEL (its first model), BENCH_LLAMA_THREADS.
 */
import os from 'node:os';
import { getLlama, LlamaChat, LlamaLogLevel, type LlamaContextSequence } from 'node-llama-cpp';
import { loadConfig } from '../core/config.ts';
import { planInference } from '../core/model/inference-plan.ts';
import { chatWrapperFor, toChatHistory } from '../worker/chat-prompt.ts';
import { JsonClient } from './load/http-client.ts';
import { benchOptionsFromEnv } from './options.ts';
import { startToolStack } from './tool-stack.ts';

const rounds = Number(process.env.BENCH_CHOICES_ROUNDS ?? 5);
const n = Number(process.env.BENCH_CHOICES_N ?? 4);
const maxTokens = Number(process.env.BENCH_CHOICES_TOKENS ?? 64);
const content = 'Tell me a story about a little cat.';

interface Run {
  ms: number;
  tokens: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

function summary(label: string, runs: Run[]): string {
  const ms = median(runs.map((run) => run.ms));
  const tokens = runs.reduce((sum, run) => sum + run.tokens, 0);
  const seconds = runs.reduce((sum, run) => sum + run.ms, 0) / 1000;
  return `${label.padEnd(46)} ${ms.toFixed(0).padStart(6)} ms median   ${(tokens / seconds).toFixed(1).padStart(7)} tokens/s`;
}

// 1. The system: n choices are n jobs.
const { stack, model, stop } = await startToolStack('choices');
const client = new JsonClient(stack.baseUrl, stack.headers);
const system: Record<'one' | 'many', Run[]> = { one: [], many: [] };
try {
  const ask = async (choices: number, seed: number): Promise<Run> => {
    const body = { model: model.id, messages: [{ role: 'user', content }], max_tokens: maxTokens, temperature: 1, seed, n: choices, cache: false };
    const started = performance.now();
    const { status, body: answer } = await client.post<{ usage: { completion_tokens: number } }>('/v1/chat/completions', body);
    if (status !== 200) throw new Error(`chat completion answered ${status}: ${JSON.stringify(answer)}`);
    return { ms: performance.now() - started, tokens: answer.usage.completion_tokens };
  };
  await ask(n, 0);
  for (let round = 1; round <= rounds; round++) {
    system.one.push(await ask(1, round));
    system.many.push(await ask(n, round));
  }
} catch (error) {
  await stop();
  throw error;
} finally {
  client.close();
}

// 2. The engine alone, with one pool thread's resources (the system, idle, holds memory only; the
// model file is its copy, removed when it stops).
const options = benchOptionsFromEnv();
const { CONTEXT_SIZE } = loadConfig({});
const plan = planInference(model.facts, { LLAMA_THREADS: options.llamaThreads, CONTEXT_SIZE });
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const loaded = await llama.loadModel({ modelPath: model.served });
const contextSize = Math.min(CONTEXT_SIZE, loaded.trainContextSize);
const free: LlamaContextSequence[] = [];
for (let i = 0; i < plan.contextsPerThread; i++) {
  const context = await loaded.createContext({ contextSize, sequences: plan.sequencesPerThread, threads: plan.llamaThreads });
  for (let j = 0; j < plan.sequencesPerThread; j++) free.push(context.getSequence());
}
const wrapper = chatWrapperFor(loaded);
const waiting: ((sequence: LlamaContextSequence) => void)[] = [];
const take = async () => free.pop() ?? (await new Promise<LlamaContextSequence>((resolve) => waiting.push(resolve)));
const give = (sequence: LlamaContextSequence) => {
  const next = waiting.shift();
  if (next) next(sequence);
  else free.push(sequence);
};

async function generateOne(seed: number): Promise<number> {
  const sequence = await take();
  const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: wrapper, autoDisposeSequence: false });
  try {
    let tokens = 0;
    await chat.generateResponse(toChatHistory([{ role: 'user', content }]), { maxTokens, temperature: 1, seed, onToken: (t) => (tokens += t.length) });
    return tokens;
  } finally {
    chat.dispose();
    await sequence.clearHistory();
    give(sequence);
  }
}

async function engine(choices: number, seed: number): Promise<Run> {
  const started = performance.now();
  const tokens = await Promise.all(Array.from({ length: choices }, (_, i) => generateOne(seed + i)));
  return { ms: performance.now() - started, tokens: tokens.reduce((a, b) => a + b, 0) };
}

const bare: Record<'one' | 'many', Run[]> = { one: [], many: [] };
await engine(n, 0);
for (let round = 1; round <= rounds; round++) {
  bare.one.push(await engine(1, round));
  bare.many.push(await engine(n, round));
}
await loaded.dispose();
await stop();

const { settings } = stack;
console.log(
  `${model.id} (${(model.sizeBytes / 2 ** 20).toFixed(1)} MiB); ${os.availableParallelism()} cores; ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}\n` +
    `system: ${settings.poolThreads} pool thread(s) × ${plan.contextsPerThread} context(s) × ${plan.sequencesPerThread} sequence(s), ${plan.llamaThreads} llama.cpp thread(s) each; ` +
    `engine alone: one pool thread's ${plan.contextsPerThread} × ${plan.sequencesPerThread}\n` +
    `chat, max_tokens ${maxTokens}, temperature 1, seeded; ${rounds} rounds, one request at a time\n`,
);
console.log(summary('system, n = 1 (one job)', system.one));
console.log(summary(`system, n = ${n} (${n} jobs)`, system.many));
console.log(summary('engine alone, 1 generation', bare.one));
console.log(summary(`engine alone, ${n} generations in one thread`, bare.many));
