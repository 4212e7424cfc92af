import { z } from 'zod';

/**
 * OpenAI's `presence_penalty`, `frequency_penalty` and `logit_bias`, as both APIs accept them and
 * as a job carries them: only when they change something, so that a request without them keeps
 * the job data and the cache key it always had.
 */

/** OpenAI's limit on logit_bias entries. */
export const LOGIT_BIAS_MAX_ENTRIES = 300;

export const penaltySchema = z.number().min(-2).max(2);

export const logitBiasSchema = z
  .record(z.string().regex(/^(0|[1-9][0-9]{0,9})$/, 'logit_bias keys must be token ids (decimal integers)'), z.number().min(-100).max(100))
  .refine((bias) => Object.keys(bias).length <= LOGIT_BIAS_MAX_ENTRIES, `logit_bias holds at most ${LOGIT_BIAS_MAX_ENTRIES} tokens`)
  .describe(
    'Token id (in the served model\'s vocabulary) → a bias from -100 to 100 added to its logit before sampling; -100 in effect bans the token, 100 forces it. ' +
      'An id outside the vocabulary, or an end-of-generation token, fails the job with 400 invalid_request.',
  );

export interface PenaltyRequest {
  presence_penalty?: number | null | undefined;
  frequency_penalty?: number | null | undefined;
  logit_bias?: Record<string, number> | null | undefined;
}

export interface JobPenalties {
  presence_penalty?: number;
  frequency_penalty?: number;
  /** Token id → logit bias, ids in ascending order, without zero biases. */
  logit_bias?: Record<string, number>;
}

/** The penalties a job carries: the non-neutral ones only, the bias in a canonical order. */
export function toJobPenalties(request: PenaltyRequest): JobPenalties {
  const entries = Object.entries(request.logit_bias ?? {})
    .filter(([, bias]) => bias !== 0)
    .sort(([a], [b]) => Number(a) - Number(b));
  return {
    ...(request.presence_penalty ? { presence_penalty: request.presence_penalty } : {}),
    ...(request.frequency_penalty ? { frequency_penalty: request.frequency_penalty } : {}),
    ...(entries.length > 0 ? { logit_bias: Object.fromEntries(entries) } : {}),
  };
}

/** What decides whether a token may be biased: the model's vocabulary. */
export interface BiasableVocabulary {
  /** Tokens in the vocabulary: ids run from 0 to this less one. */
  readonly vocabularySize: number;
  /** Whether the token ends generation (EOS, end of turn). */
  endsGeneration(token: number): boolean;
}

/**
 * Why a logit_bias entry cannot apply to this model, or undefined when it can: the API says it
 * before queueing when it can read the model's vocabulary, the worker otherwise. An id outside the
 * vocabulary would index past llama.cpp's logits; node-llama-cpp ignores biases of tokens that end
 * generation, and a bias silently ignored is not what was asked for.
 */
export function logitBiasRefusal(id: string, vocabulary: BiasableVocabulary): string | undefined {
  const token = Number(id);
  if (!Number.isInteger(token) || token < 0 || token >= vocabulary.vocabularySize) {
    return `logit_bias: token ${id} is not in the model's vocabulary (ids 0 to ${vocabulary.vocabularySize - 1})`;
  }
  if (vocabulary.endsGeneration(token)) return `logit_bias: token ${id} ends generation, and its bias cannot be set`;
  return undefined;
}
