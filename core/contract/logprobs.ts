/**
 * Token log probabilities, as a job computes them and its result and token stream carry them.
 * One neutral form between the processes; the OpenAI endpoints shape it for chat or completions.
 */

/** Most alternatives per token a job may ask for: OpenAI's limit on chat's `top_logprobs`. */
export const MAX_TOP_LOGPROBS = 20;

/**
 * OpenAI's floor for a token the sampler ruled out (probability 0, e.g. by a grammar or top-k):
 * a number every client can parse, where log(0) would be -Infinity, which JSON cannot carry.
 */
export const LOGPROB_FLOOR = -9999;

export interface TopLogprob {
  token: string;
  logprob: number;
}

/** One generated token: its text (the texts of a job's tokens join to its text), its log probability, and the most likely alternatives. */
export interface TokenLogprob extends TopLogprob {
  /** The most likely tokens at this position, most likely first; as many as the job asked for. */
  top: TopLogprob[];
}

export function logprobOf(probability: number): number {
  return probability > 0 ? Math.max(Math.log(probability), LOGPROB_FLOOR) : LOGPROB_FLOOR;
}

/** Entries read from a stream or a result written by another process: anything malformed is dropped. */
export function isTokenLogprobList(value: unknown): value is TokenLogprob[] {
  return (
    Array.isArray(value) &&
    value.every(
      (entry: Partial<TokenLogprob>) =>
        typeof entry === 'object' && entry !== null && typeof entry.token === 'string' && typeof entry.logprob === 'number' && Array.isArray(entry.top),
    )
  );
}
