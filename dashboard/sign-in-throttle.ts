import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../core/logger.ts';

/** Failed Bull Board sign-ins one client address may make within `SIGN_IN_WINDOW_SECONDS`. */
export const SIGN_IN_FAILURES_ALLOWED = 10;
/** The window failures are counted in: fixed, starting at an address's first failure. */
export const SIGN_IN_WINDOW_SECONDS = 60;
/** How long an address that failed once more is refused, whatever it sends (right credentials included). */
export const SIGN_IN_BLOCK_SECONDS = 300;

export interface SignInLimits {
  failures: number;
  windowSeconds: number;
  blockSeconds: number;
}

const DEFAULT_LIMITS: SignInLimits = {
  failures: SIGN_IN_FAILURES_ALLOWED,
  windowSeconds: SIGN_IN_WINDOW_SECONDS,
  blockSeconds: SIGN_IN_BLOCK_SECONDS,
};

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * Counts failed sign-ins per client address, in Redis, so every process serving the board (the
 * dashboard's replicas, `npm start`) shares one count, and a restart does not wipe it. Only
 * failures count; a success resets nothing, since behind a shared address (a NAT, an office) it
 * would let someone else's guessing go on. While Redis is away each process counts in memory.
 */
export class SignInThrottle {
  private readonly limiter: RateLimiterRedis;

  constructor(
    redis: Redis,
    /** Redis key prefix of the counters, e.g. `llmo:board-auth`. */
    keyPrefix: string,
    private readonly logger: Logger,
    readonly limits: SignInLimits = DEFAULT_LIMITS,
  ) {
    const options = { points: limits.failures, duration: limits.windowSeconds, blockDuration: limits.blockSeconds };
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix,
      ...options,
      // The board's connection waits out Redis restarts; a sign-in must not wait with it.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(options),
    });
  }

  /** Seconds `address` must still wait before it may try again; 0 when it may try now. */
  async blockedFor(address: string): Promise<number> {
    const state = await this.limiter.get(address);
    return state && state.consumedPoints > this.limits.failures ? seconds(state.msBeforeNext) : 0;
  }

  /** Counts a failed sign-in; returns the seconds of the block it starts, or 0 while failures remain. */
  async failed(address: string): Promise<number> {
    try {
      await this.limiter.consume(address);
      return 0;
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const wait = seconds(rejection.msBeforeNext);
      this.logger.warn(
        { ip: address, failures: rejection.consumedPoints, windowSeconds: this.limits.windowSeconds, blockSeconds: wait },
        'Bull Board: too many failed sign-ins from one address; refusing it for a while',
      );
      return wait;
    }
  }
}
