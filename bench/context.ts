import type { BaselineProcess } from './baselines/child.ts';
import type { LlamaCommand } from './baselines/llama-protocol.ts';
import type { BenchModel } from './model.ts';
import type { BenchOptions } from './options.ts';
import type { StackSettings, SystemStack } from './system.ts';

/** What every pair gets: the options, the shared Redis, the default system stack and the llama.cpp baseline. */
export interface BenchContext {
  /** The options as they apply to this model (durations and clients scaled to its speed). */
  options: BenchOptions;
  model: BenchModel;
  /** Weights large enough that the system batches sequences in one pool thread (core/model/inference-plan.ts). */
  large: boolean;
  redisUrl: string;
  /** The system at its default settings (pairs 1–4 and 7). */
  stack: SystemStack;
  /** Bare node-llama-cpp with the default stack's threads and sequences. */
  llama: BaselineProcess<LlamaCommand>;
  /** Starts a further stack (pair 5); the caller stops it. */
  startStack(name: string, settings: StackSettings): Promise<SystemStack>;
  /** Starts a baseline process (a module in bench/baselines/); the caller stops it. */
  startBaseline<C>(file: string, env: Record<string, string>): Promise<BaselineProcess<C>>;
  log(message: string): void;
}

/** The prompt of every generation on both sides: the model's training data are children's stories. */
export const PROMPT = 'Once upon a time';

/**
 * Runs `rounds` rounds of a and b back to back, swapping which goes first each round,
 * so that drifting load on the machine touches both sides alike.
 */
export async function interleave<A, B>(rounds: number, a: (round: number) => Promise<A>, b: (round: number) => Promise<B>) {
  const as: A[] = [];
  const bs: B[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      as.push(await a(round));
      bs.push(await b(round));
    } else {
      bs.push(await b(round));
      as.push(await a(round));
    }
  }
  return { a: as, b: bs };
}

export const MiB = 1024 * 1024;

/** Round-robin over several measurements, rotating which goes first each round. */
export async function interleaveMany<T>(rounds: number, runs: Array<() => Promise<T>>): Promise<T[][]> {
  const results: T[][] = runs.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < runs.length; k++) {
      const index = (round + k) % runs.length;
      results[index]?.push(await (runs[index] as () => Promise<T>)());
    }
  }
  return results;
}
