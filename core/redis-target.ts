import { SentinelConnector, type RedisOptions } from 'ioredis';
import { redactUrl } from './redact-url.ts';

export interface SentinelAddress {
  host: string;
  port: number;
}

/**
 * Where a process finds its Redis: a URL (one node, or an endpoint that follows failovers itself,
 * as ElastiCache's primary endpoint does), or Sentinel's master group, whose current primary the
 * sentinels name. With sentinels, `url` carries what the data nodes need and the sentinels do not
 * know: password (and user), database, and `rediss://` for TLS; its host and port are not used.
 */
export type RedisTarget = string | { sentinels: SentinelAddress[]; name: string; url?: string };

/** `host:port,host:port`, as REDIS_SENTINELS takes it; undefined when an entry is not one. */
export function parseSentinels(list: string): SentinelAddress[] | undefined {
  const entries = list.split(',').map((entry) => entry.trim()).filter(Boolean);
  const addresses = entries.map((entry) => {
    // `[::1]:26379` for IPv6, `host:port` otherwise.
    const match = /^(?:\[([^\]]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[3]);
    const host = match?.[1] ?? match?.[2];
    return host && port > 0 && port < 65536 ? { host, port } : undefined;
  });
  return addresses.length > 0 && addresses.every(Boolean) ? (addresses as SentinelAddress[]) : undefined;
}

/** The configured target: sentinels when REDIS_SENTINELS is set, else REDIS_URL, else none (see `resolveRedis`). */
export function redisTargetOf(config: { REDIS_URL?: string | undefined; REDIS_SENTINELS?: SentinelAddress[] | undefined; REDIS_SENTINEL_NAME?: string | undefined }): RedisTarget | undefined {
  if (config.REDIS_SENTINELS && config.REDIS_SENTINEL_NAME) {
    return { sentinels: config.REDIS_SENTINELS, name: config.REDIS_SENTINEL_NAME, ...(config.REDIS_URL ? { url: config.REDIS_URL } : {}) };
  }
  return config.REDIS_URL;
}

/**
 * ioredis's sentinel connector with one race closed. Its failover detector (subscribed to the
 * sentinels' `+switch-master`) belongs to a connection, but outlives it: when the primary dies, the
 * connection reconnects while the old detector still listens. If the sentinels announce the switch
 * while a reconnection is under way (asking a sentinel, or pausing after "All sentinels are
 * unreachable"), the detector disconnects the connector in the middle of that attempt; the attempt
 * then fails with "Connection is closed." and ioredis ends the connection for good (status `end`:
 * no retry strategy is consulted). Every connection of a process reconnects in step, so all of
 * them can end together: a worker that stays alive with no connection at all.
 *
 * A reconnection asks the sentinels afresh, so the old detector has nothing left to do: it is
 * dropped as each attempt starts, and the attempt opens a new one once connected. Given as
 * `Connector`, it travels with the options into the connections BullMQ duplicates.
 */
export class FailoverFollowingConnector extends SentinelConnector {
  // ioredis hands a connector the connection's whole options, typed `unknown` in its constructor type.
  constructor(options: unknown) {
    super(options as ConstructorParameters<typeof SentinelConnector>[0]);
  }

  override connect(...args: Parameters<SentinelConnector['connect']>): ReturnType<SentinelConnector['connect']> {
    // `failoverDetector` is private in ioredis's types; the field is what its own disconnect() cleans up.
    const self = this as unknown as { failoverDetector: { cleanup(): void } | null };
    self.failoverDetector?.cleanup();
    self.failoverDetector = null;
    return super.connect(...args);
  }
}

/** Longest pause between two reconnections through the sentinels (ms). */
const SENTINEL_RECONNECT_MAX_MS = 500;
/**
 * How long a sentinel may take to say where the primary is (ms) before the next one is asked: a
 * sentinel whose host accepts connections and never answers (overloaded, half partitioned) would
 * otherwise hold every (re)connection forever. Sentinels answer in milliseconds.
 */
const SENTINEL_COMMAND_TIMEOUT_MS = 2000;

/**
 * The part of ioredis's options that says where to connect. A sentinel target asks the sentinels
 * for the primary at every (re)connection, and `failoverDetector` listens to their `+switch-master`
 * so that a connection still open to the old primary moves as soon as they agree. One whose
 * primary died is reconnecting meanwhile, with no listener: it finds the promoted replica at its
 * next attempt, so attempts come every 0.5 s at most rather than the 2 s of a single endpoint
 * (each is one question to a sentinel, then a connection).
 */
export function targetOptions(target: RedisTarget): { url?: string; options: RedisOptions } {
  if (typeof target === 'string') return { url: target, options: {} };
  const options: RedisOptions = {
    sentinels: target.sentinels,
    name: target.name,
    failoverDetector: true,
    sentinelCommandTimeout: SENTINEL_COMMAND_TIMEOUT_MS,
    Connector: FailoverFollowingConnector,
    retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 5), SENTINEL_RECONNECT_MAX_MS),
  };
  if (target.url) {
    const url = new URL(target.url);
    if (url.username) options.username = decodeURIComponent(url.username);
    if (url.password) options.password = decodeURIComponent(url.password);
    const db = Number(url.pathname.slice(1));
    if (url.pathname.length > 1 && Number.isInteger(db)) options.db = db;
    if (url.protocol === 'rediss:') options.tls = {};
  }
  return { options };
}

/** The target as logs may show it: no password. */
export function describeTarget(target: RedisTarget): string {
  if (typeof target === 'string') return redactUrl(target);
  return `sentinel master "${target.name}" via ${target.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`;
}
