import type { Config } from '../core/config.ts';
import { toJobPenalties } from '../core/contract/penalties.ts';
import { toJobResponseFormat } from '../core/contract/response-format.ts';
import type { GenerationRequest, RequestLimits } from '../core/job-contract.ts';
import type { Submission } from './job-service.ts';
import type { ModelResolver } from './model-lanes.ts';

export function limitsOf(config: Config): RequestLimits {
  return {
    maxTokensLimit: config.MAX_TOKENS_LIMIT,
    defaultMaxTokens: config.DEFAULT_MAX_TOKENS,
    maxPromptChars: config.MAX_PROMPT_CHARS,
    maxWaitMs: config.MAX_WAIT_MS,
    defaultWaitMs: config.DEFAULT_WAIT_MS,
  };
}

/** A validated native request as the job service takes it. */
export function toSubmission(request: GenerationRequest, tenant: string, models: Pick<ModelResolver, 'resolve'>): Submission {
  const model = models.resolve(request.model);
  const responseFormat = toJobResponseFormat(request.response_format, request.stop);
  return {
    tenant,
    input: { prompt: request.prompt },
    sampling: {
      max_tokens: request.max_tokens,
      temperature: request.temperature,
      top_p: request.top_p,
      top_k: request.top_k,
      ...(request.seed === undefined ? {} : { seed: request.seed }),
      stop: request.stop,
      ...toJobPenalties(request),
      ...(responseFormat ? { response_format: responseFormat } : {}),
    },
    priority: request.priority,
    cache: request.cache,
    model,
  };
}
