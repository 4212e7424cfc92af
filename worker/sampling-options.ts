import { TokenBias, type LLamaContextualRepeatPenalty, type LlamaGrammar, type LlamaModel, type Token } from 'node-llama-cpp';
import { jobFailure, type JobFailure } from '../core/contract/failure.ts';
import { logitBiasRefusal } from '../core/contract/penalties.ts';
import type { Sampling } from '../core/job-contract.ts';

/**
 * A job's sampling parameters as node-llama-cpp's generation options, for LlamaChat and
 * LlamaCompletion alike.
 */

export interface RunOptions {
  sampling: Sampling;
  maxTokens: number;
  signal: AbortSignal;
  /** The grammar of the job's response format (grammar-cache.ts). */
  grammar?: LlamaGrammar | undefined;
  /** The job's logit_bias, checked against the model (`tokenBiasFor`). */
  tokenBias?: TokenBias | undefined;
}

export function samplingOptions({ sampling, maxTokens, signal, grammar, tokenBias }: RunOptions) {
  const repeatPenalty = repeatPenaltyFor(sampling, maxTokens);
  return {
    maxTokens,
    temperature: sampling.temperature,
    topP: sampling.top_p,
    topK: sampling.top_k,
    ...(sampling.seed === undefined ? {} : { seed: sampling.seed }),
    customStopTriggers: sampling.stop,
    ...(repeatPenalty ? { repeatPenalty } : {}),
    ...(tokenBias ? { tokenBias } : {}),
    ...(grammar ? { grammar } : {}),
    signal,
    stopOnAbortSignal: true,
  };
}

/**
 * OpenAI's penalties are llama.cpp's: a token's logit is lowered by `presence` once it occurs and
 * by `frequency` per occurrence, counting the tokens generated so far (all of them: `lastTokens`
 * is the generation's budget; newlines too, as OpenAI counts them). The multiplicative repeat
 * penalty stays at 1 (off), as OpenAI has none. Undefined leaves node-llama-cpp's default, which
 * penalises nothing.
 */
export function repeatPenaltyFor(sampling: Sampling, maxTokens: number): LLamaContextualRepeatPenalty | undefined {
  const { presence_penalty: presencePenalty = 0, frequency_penalty: frequencyPenalty = 0 } = sampling;
  if (presencePenalty === 0 && frequencyPenalty === 0) return undefined;
  return { lastTokens: Math.max(1, maxTokens), penalty: 1, presencePenalty, frequencyPenalty, penalizeNewLine: true };
}

/**
 * The job's logit_bias as a TokenBias of the model: OpenAI's bias is added to the logit, which is
 * `{logit}` here. A token the bias cannot apply to fails the job (`logitBiasRefusal`).
 */
export function tokenBiasFor(model: LlamaModel, logitBias: Sampling['logit_bias']): TokenBias | { failure: JobFailure } | undefined {
  if (logitBias === undefined) return undefined;
  const vocabularySize = model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length;
  if (vocabularySize === undefined) return { failure: jobFailure('invalid_request', 'logit_bias: the model does not tell the size of its vocabulary') };
  const vocabulary = { vocabularySize, endsGeneration: (token: number) => model.isEogToken(token as Token) };
  const bias = new TokenBias(model.tokenizer);
  for (const [id, logit] of Object.entries(logitBias)) {
    const refusal = logitBiasRefusal(id, vocabulary);
    if (refusal !== undefined) return { failure: jobFailure('invalid_request', refusal) };
    bias.set(Number(id) as Token, { logit });
  }
  return bias;
}
