import type { RequestHandler } from 'express';
import { logitBiasRefusal } from '../../core/contract/penalties.ts';
import { AppError } from '../../core/errors.ts';
import type { RequestVocabulary } from './prompt-tokens.ts';

/** The token ids a body's `logit_bias` names, when it is an object (anything else is the route schema's to refuse). */
function biasedIds(body: unknown): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [];
  const { logit_bias: bias } = body as { logit_bias?: unknown };
  if (typeof bias !== 'object' || bias === null || Array.isArray(bias)) return [];
  // Keys that are not token ids at all are left to the schema too.
  return Object.keys(bias).filter((id) => /^(0|[1-9][0-9]{0,9})$/.test(id));
}

/**
 * Refuses, before anything is queued, a logit_bias that names a token outside the model's
 * vocabulary or one that ends generation: 400 `invalid_request`, the message the worker would fail
 * the job with. Without the vocabulary (the model file out of the API's reach) the worker checks.
 */
export function logitBiasCheck(vocabularyOf: RequestVocabulary): RequestHandler {
  return async (req, _res, next) => {
    const ids = req.method === 'POST' ? biasedIds(req.body) : [];
    const vocabulary = ids.length > 0 ? await vocabularyOf(req) : undefined;
    if (!vocabulary) {
      next();
      return;
    }
    for (const id of ids) {
      const refusal = logitBiasRefusal(id, vocabulary);
      if (refusal !== undefined) {
        next(new AppError(400, 'invalid_request', refusal, { param: `logit_bias.${id}` }));
        return;
      }
    }
    next();
  };
}
