import type { Request, RequestHandler, Response } from 'express';
import { AppError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { presentedKey, type ApiKeyring, type Role } from './api-keys.ts';

/** The tenant of every request when no keys are configured. */
export const ANONYMOUS_TENANT = 'anonymous';

/**
 * Who is calling: a configured API key (by its id), or a client address when the API is open; and
 * the tenant the request acts for, with its role.
 */
export type Principal = ({ kind: 'key'; id: string } | { kind: 'anonymous'; ip: string }) & { tenant: string; role: Role };

interface AuthOutcome {
  principal: Principal;
  /** Set when keys are configured and this request has none, or a wrong one. */
  refusal?: AppError;
}

const REALM = 'Bearer realm="llm-orchestrator"';

const missing = () =>
  new AppError(401, 'missing_api_key', 'an API key is required: send "Authorization: Bearer <key>" or "x-api-key: <key>"', {
    headers: { 'WWW-Authenticate': REALM },
  });
const invalid = () =>
  new AppError(401, 'invalid_api_key', 'the API key is not valid', {
    headers: { 'WWW-Authenticate': `${REALM}, error="invalid_token"` },
  });

const clientIp = (req: Request) => req.ip ?? req.socket.remoteAddress ?? 'unknown';

/**
 * Works out the principal but does not refuse yet: requests without a valid key still count
 * against their address's rate limit first, so guessing keys is throttled like anything else.
 */
export function identify(keyring: () => ApiKeyring): RequestHandler {
  return (req, res, next) => {
    const ring = keyring();
    const anonymous = { kind: 'anonymous', ip: clientIp(req), tenant: ANONYMOUS_TENANT, role: 'user' } as const;
    let outcome: AuthOutcome;
    if (ring.empty) {
      outcome = { principal: anonymous };
    } else {
      const key = presentedKey(req.headers);
      const identity = key === undefined ? undefined : ring.verify(key);
      outcome = identity
        ? { principal: { kind: 'key', ...identity } }
        : { principal: anonymous, refusal: key === undefined ? missing() : invalid() };
    }
    res.locals.auth = outcome;
    next();
  };
}

/** Refuses what `identify` found wanting (after the rate limit has counted it). */
export function enforce(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const outcome = authOf(res);
    if (outcome?.refusal) {
      logger.info(
        { requestId: res.locals.requestId, ip: clientIp(req), method: req.method, path: req.path, code: outcome.refusal.code },
        'request refused: no valid API key',
      );
      next(outcome.refusal);
      return;
    }
    next();
  };
}

export function authOf(res: Response): AuthOutcome | undefined {
  return res.locals.auth as AuthOutcome | undefined;
}

/** The principal of an authenticated (or anonymous-mode) request. */
export function principalOf(res: Response): Principal | undefined {
  const outcome = authOf(res);
  return outcome && !outcome.refusal ? outcome.principal : undefined;
}

/** The request's tenant as the job service sees it: whose jobs it may read, and whether all. */
export function viewerOf(res: Response): { tenant: string; admin: boolean } {
  const principal = principalOf(res);
  return { tenant: principal?.tenant ?? ANONYMOUS_TENANT, admin: principal?.role === 'admin' };
}
