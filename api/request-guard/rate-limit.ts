import type { RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { authOf, type Principal } from './authenticate.ts';

export interface RateLimitOptions {
  /** Requests per window; 0 turns limiting off. */
  requests: number;
  windowSeconds: number;
  /** Redis key prefix of the counters, e.g. `llmo:rl`. */
  keyPrefix: string;
}

/** The bucket a principal draws from: one per API key, one per client address when anonymous. */
export const bucketOf = (principal: Principal) => (principal.kind === 'key' ? `key:${principal.id}` : `ip:${principal.ip}`);

/**
 * Fixed-window request limits whose counters live in Redis, so N API replicas share one limit.
 * While Redis is away each process falls back to counting in memory (the request then meets the
 * fast 503 of whatever needs Redis next), and a bucket that is over its limit is remembered in
 * memory until its window ends, so a flood costs no Redis round trips.
 */
export function rateLimit(redis: Redis, options: RateLimitOptions, logger: Logger): RequestHandler {
  if (options.requests === 0) return (_req, _res, next) => next();
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: options.keyPrefix,
    points: options.requests,
    duration: options.windowSeconds,
    rejectIfRedisNotReady: true,
    inMemoryBlockOnConsumed: options.requests + 1,
    insuranceLimiter: new RateLimiterMemory({ points: options.requests, duration: options.windowSeconds }),
  });
  let degraded = false;
  return async (_req, res, next) => {
    const principal = authOf(res)?.principal;
    if (!principal) {
      next();
      return;
    }
    try {
      const state = await limiter.consume(bucketOf(principal));
      degraded = false;
      setHeaders(res, options.requests, state);
      next();
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        setHeaders(res, options.requests, rejection);
        const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
        next(
          new AppError(429, 'rate_limited', `too many requests: at most ${options.requests} per ${options.windowSeconds} s; retry in ${retryAfter} s`, {
            headers: { 'Retry-After': String(retryAfter) },
          }),
        );
        return;
      }
      // Neither Redis nor the in-memory fallback answered: limiting must not take the API down.
      if (!degraded) logger.warn({ err: (rejection as Error).message }, 'rate limiter unavailable; requests pass unlimited');
      degraded = true;
      next();
    }
  };
}

/** IETF draft `RateLimit-*` headers, so well-behaved clients can pace themselves. */
function setHeaders(res: Response, limit: number, state: RateLimiterRes): void {
  res.setHeader('RateLimit-Limit', String(limit));
  res.setHeader('RateLimit-Remaining', String(Math.max(0, state.remainingPoints)));
  res.setHeader('RateLimit-Reset', String(Math.max(0, Math.ceil(state.msBeforeNext / 1000))));
}
