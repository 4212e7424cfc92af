import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './logger.ts';
import { targetOptions, type RedisTarget } from './redis-target.ts';

/**
 * Producers (the API) fail fast when Redis is away, so requests get a quick 503;
 * workers and blocking readers wait and retry forever, as BullMQ's production guide asks.
 */
export type ConnectionRole = 'producer' | 'worker';

const reconnect = (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000);

/**
 * After a failover (ElastiCache Multi-AZ, a Sentinel switch) the old primary often stays up as a
 * replica, and connections opened to it before the endpoint's DNS name moved keep reaching it: it
 * answers every write with READONLY, for as long as the connection lives. Reconnecting resolves the
 * name again and reaches the new primary. `2` also re-sends the failed command there; that is safe
 * because a replica runs no part of a write (a script stops at its first write, before any effect).
 * A fail-fast connection has no offline queue, so there the re-send is refused at once and the
 * request gets its 503; a waiting connection sends it once reconnected.
 */
export function reconnectOnReadOnly(error: Error): 2 | false {
  return error.message.startsWith('READONLY') ? 2 : false;
}

/**
 * Options of every connection the system opens. They travel with the connection: ioredis's
 * `duplicate()`, which BullMQ uses for its blocking clients, copies them.
 */
export function redisOptions(role: ConnectionRole): RedisOptions {
  return role === 'producer'
    ? { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, retryStrategy: reconnect, reconnectOnError: reconnectOnReadOnly }
    : { maxRetriesPerRequest: null, enableOfflineQueue: true, retryStrategy: reconnect, reconnectOnError: reconnectOnReadOnly };
}

/**
 * The one place that opens Redis connections: every role, BullMQ's connections (it duplicates these,
 * target included) and the tools go through it, so every connection reaches the same primary and
 * follows the same failovers.
 */
export function createRedis(target: RedisTarget, role: ConnectionRole, logger?: Logger, name?: string): Redis {
  let warnedAt = 0;
  const reconnectOnError = (error: Error) => {
    const decision = reconnectOnReadOnly(error);
    // Every command in flight gets the reply: one line per connection and failover tells the story.
    if (decision && Date.now() - warnedAt > 10_000) {
      warnedAt = Date.now();
      logger?.warn({ connection: name ?? role }, 'redis answered READONLY (a failover made this node a replica): reconnecting to the endpoint');
    }
    return decision;
  };
  const { url, options: where } = targetOptions(target);
  const options: RedisOptions = { ...redisOptions(role), ...where, reconnectOnError, ...(name ? { connectionName: name } : {}) };
  const redis = url === undefined ? new Redis(options) : new Redis(url, options);
  let down = false;
  redis.on('error', (error: Error) => {
    if (!down) logger?.warn({ err: error.message, connection: name ?? role }, 'redis connection error');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger?.info({ connection: name ?? role }, 'redis connection restored');
    down = false;
  });
  return redis;
}

/**
 * Errors that retrying cannot cure: Redis refused the credentials of REDIS_URL, or its TLS
 * certificate did not verify. Waiting for readiness stops at once on these, with a clear message,
 * instead of reconnecting forever in silence.
 */
function permanentConnectionError(error: Error & { code?: string }): Error | undefined {
  if (/^(WRONGPASS|NOAUTH|ERR invalid password|ERR AUTH)/.test(error.message)) {
    return new Error(`Redis refused the connection's credentials (${error.message}); check the password in REDIS_URL (redis://:password@host:port).`);
  }
  if (error.code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|TLS/.test(error.code)) {
    return new Error(`TLS connection to Redis failed (${error.code}: ${error.message}); check the certificate or the CA (NODE_EXTRA_CA_CERTS).`);
  }
  return undefined;
}

/**
 * Waits until a connection is ready (fail-fast connections do not queue commands before that):
 * at most `timeoutMs`, or as long as it takes when `timeoutMs` is undefined (workers at start),
 * but never past an error that retrying cannot cure.
 */
export async function waitReady(redis: Redis, timeoutMs: number | undefined = 5000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    let lastError: Error | undefined;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            cleanup();
            reject(new Error(`Redis not reachable within ${timeoutMs} ms${lastError ? ` (${lastError.message})` : ''}`));
          }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error) => {
      lastError = error;
      const permanent = permanentConnectionError(error);
      if (permanent) {
        cleanup();
        reject(permanent);
      }
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
    };
    redis.on('ready', onReady);
    redis.on('error', onError);
  });
}

/** Redis error replies that mean "not now" (loading its AOF, out of memory, a replica, busy), not "wrong request". */
const UNAVAILABLE_REPLIES = /^(LOADING|OOM|READONLY|MASTERDOWN|BUSY|TRYAGAIN|CLUSTERDOWN|NOAUTH|WRONGPASS)\b/;

/**
 * True for errors that say Redis is away or cannot serve right now, as ioredis and BullMQ report
 * them: a fail-fast connection that is not connected ("Stream isn't writeable..."), a connection
 * that closed under a command, retries per request exhausted, or an error reply such as LOADING
 * while a restarted Redis reads its AOF. Requests that meet one get a fast 503, not a 500.
 */
export function isRedisUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError') return true;
  const message = error.message;
  if (message.startsWith("Stream isn't writeable") || message === 'Connection is closed.') return true;
  if (/^(connect )?(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND)\b/.test(message)) return true;
  return error.name === 'ReplyError' && UNAVAILABLE_REPLIES.test(message);
}

/**
 * BullMQ loses jobs when Redis evicts keys, so anything but `noeviction` stops the process.
 * Managed services that forbid CONFIG (the policy is then set in their parameter group) are trusted with a warning.
 * A Redis without `maxmemory` is let through with a warning (see `warnWithoutMaxmemory`).
 */
export async function assertNoEviction(redis: Redis, logger: Logger): Promise<void> {
  await waitReady(redis, undefined);
  let policy: string | undefined;
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    policy = reply[1];
  } catch {
    logger.warn('cannot read maxmemory-policy (CONFIG is disabled); make sure it is noeviction');
  }
  if (policy !== undefined && policy !== 'noeviction') {
    throw new EvictionPolicyError(policy);
  }
  await warnWithoutMaxmemory(redis, logger);
}

export interface RedisMemory {
  /** `used_memory`: what Redis's allocator holds for data and overhead. */
  usedBytes: number;
  /** `maxmemory`; 0 when no limit is set. */
  maxBytes: number;
}

/** Reads INFO memory, which managed services allow where they forbid CONFIG. */
export async function readRedisMemory(redis: Redis): Promise<RedisMemory> {
  const info = await redis.info('memory');
  const field = (name: string) => {
    const value = Number(new RegExp(`^${name}:(\\d+)\\r?$`, 'm').exec(info)?.[1]);
    if (!Number.isFinite(value)) throw new Error(`INFO memory has no ${name}`);
    return value;
  };
  return { usedBytes: field('used_memory'), maxBytes: field('maxmemory') };
}

/**
 * `noeviction` without `maxmemory` means Redis never refuses a write: it grows until the host runs
 * out of memory and the kernel kills it, taking the writes its AOF had not saved and every
 * connection with it. With a limit, a full Redis refuses writes (the API answers 503) and stays up.
 * Only a warning: a development Redis often has no limit, and the process works without one.
 */
async function warnWithoutMaxmemory(redis: Redis, logger: Logger): Promise<void> {
  let memory: RedisMemory;
  try {
    memory = await readRedisMemory(redis);
  } catch (error) {
    logger.warn({ err: (error as Error).message }, 'cannot read Redis maxmemory (INFO memory); make sure it is set');
    return;
  }
  if (memory.maxBytes === 0) {
    logger.warn(
      { usedBytes: memory.usedBytes },
      'Redis has no maxmemory: with noeviction it grows until the host runs out of memory and the OOM killer stops it, ' +
        'losing the writes its AOF had not saved. Set maxmemory below the memory the host can give it ' +
        '(redis-cli CONFIG SET maxmemory 2gb, and in redis.conf); at the limit Redis refuses writes and the API answers 503 instead.',
    );
  }
}

export class EvictionPolicyError extends Error {
  constructor(readonly policy: string) {
    super(
      `Redis maxmemory-policy is "${policy}"; it must be "noeviction" or queued jobs can be lost. ` +
        'Run: redis-cli CONFIG SET maxmemory-policy noeviction (and set it in redis.conf).',
    );
    this.name = 'EvictionPolicyError';
  }
}
