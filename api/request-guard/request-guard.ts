import type { Request, RequestHandler } from 'express';
import helmet from 'helmet';
import type { ApiDeps } from '../deps.ts';
import { enforce, identify } from './authenticate.ts';
import { backpressure, QueueDepthGauge } from './backpressure.ts';
import { logitBiasCheck } from './logit-bias-check.ts';
import { promptLimit } from './prompt-limit.ts';
import { isOpenPath } from './public-paths.ts';
import { enqueuesNothing } from './queue-free-posts.ts';
import { rateLimit } from './rate-limit.ts';
import { readJsonBody } from './read-json-body.ts';
import { requestVocabulary } from './request-vocabulary.ts';

export interface RequestGuard {
  /** Security headers (helmet): install before any route, so every response carries them. */
  headers: RequestHandler;
  /**
   * Everything a request passes before a router sees it, in this order: who is calling, the
   * caller's rate limit, refusal without a valid key, queue backpressure (POSTs that queue work),
   * the body (JSON read once, bounded; multipart uploads are left to their route, which streams
   * them), the prompt's length in tokens and the tokens a logit_bias names. Open paths (probes, docs, metrics unless they need a
   * key, Bull Board with its own credentials) skip it.
   */
  guard: RequestHandler[];
}

export function createRequestGuard(deps: Pick<ApiDeps, 'config' | 'logger' | 'redis' | 'keys' | 'lanes' | 'tenants'>): RequestGuard {
  const { config, logger, redis, tenants } = deps;
  const keyring = tenants.keyring;
  if (keyring.empty) {
    logger.warn(
      { host: config.HOST },
      'SECURITY WARNING: no API keys are configured (API_KEYS, API_KEYS_FILE), so the API serves anyone who can reach it (no authentication). ' +
        'Set API_KEYS before exposing it beyond this machine; see docs/security.md.',
    );
  } else {
    logger.info({ keys: keyring.size, tenants: keyring.tenants.length }, 'API keys configured: requests need "Authorization: Bearer <key>" or "x-api-key"');
  }

  const gauge = new QueueDepthGauge(() => deps.lanes.waitingJobs(), logger);

  // Each request is measured with its model's vocabulary (several models: the one its body names).
  const vocabulary = requestVocabulary(config, deps.lanes.catalogue, logger);
  const steps: RequestHandler[] = [
    identify(() => tenants.keyring),
    rateLimit(redis, { requests: config.RATE_LIMIT_REQUESTS, windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS, keyPrefix: deps.keys.rateLimit }, logger),
    enforce(logger),
    // A full queue refuses new work, not requests that add none (api/request-guard/queue-free-posts.ts).
    skipWhen(enqueuesNothing, backpressure(gauge, config.MAX_QUEUE_DEPTH)),
    readJsonBody(config.BODY_LIMIT_BYTES),
    promptLimit(vocabulary, config.MAX_PROMPT_CHARS),
    logitBiasCheck(vocabulary),
  ];
  const skipOpen = (step: RequestHandler): RequestHandler => skipWhen((req) => isOpenPath(req.path, config), step);

  return { headers: helmet(), guard: steps.map(skipOpen) };
}

const skipWhen =
  (skip: (req: Request) => boolean, step: RequestHandler): RequestHandler =>
  (req, res, next) =>
    skip(req) ? next() : step(req, res, next);
