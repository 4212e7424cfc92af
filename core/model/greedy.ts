import type { LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp';

/** One greedy generation, timed: what the INT8 benchmark and the quantizer's tests compare. */
export interface GreedyRun {
  tokens: Token[];
  promptTokens: number;
  /** From the start to the first generated token: evaluating the prompt (and one sampling). */
  promptMs: number;
  /** From the first generated token to the last. */
  decodeMs: number;
}

/**
 * Greedy (temperature 0) continuation of `prompt` for exactly `maxTokens` tokens (end-of-text
 * tokens included, so two models are always compared over the same length), on a clean sequence.
 */
export async function greedyRun(model: LlamaModel, sequence: LlamaContextSequence, prompt: string, maxTokens: number): Promise<GreedyRun> {
  await sequence.clearHistory();
  const input = [...(model.tokens.bos === null ? [] : [model.tokens.bos]), ...model.tokenize(prompt)];
  const tokens: Token[] = [];
  const started = performance.now();
  let firstAt = started;
  let lastAt = started;
  for await (const token of sequence.evaluate(input, { temperature: 0 })) {
    lastAt = performance.now();
    if (tokens.length === 0) firstAt = lastAt;
    tokens.push(token);
    if (tokens.length >= maxTokens) break;
  }
  return { tokens, promptTokens: input.length, promptMs: firstAt - started, decodeMs: lastAt - firstAt };
}

/** How many tokens two generations share before they first differ. */
export function leadingAgreement(a: readonly Token[], b: readonly Token[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n += 1;
  return n;
}
