/**
 * Every Redis key this system writes besides BullMQ's own (`<prefix>:<queue>:*`).
 * Documented in docs/redis.md; change both together.
 */
export function redisKeys(prefix: string) {
  return {
    /** String (JSON result), TTL = CACHE_TTL_SECONDS. */
    cache: (hash: string) => `${prefix}:cache:${hash}`,
    /** Stream of a job's token events, capped; expires STREAM_TTL_SECONDS after its last write, deleted with a cancelled waiting job. */
    stream: (jobId: string) => `${prefix}:stream:${jobId}`,
    /** String `<run>:<run id>`: the run of a job that owns its stream (later runs take over, earlier ones are refused); lives as the stream. */
    streamOwner: (jobId: string) => `${prefix}:stream-owner:${jobId}`,
    /** String set when a job is cancelled, read by the worker that starts or runs it; expires after STREAM_TTL_SECONDS. */
    cancelFlag: (jobId: string) => `${prefix}:cancel:${jobId}`,
    /** Pub/sub channel announcing cancellations to every worker. */
    cancelChannel: `${prefix}:cancel`,
    /** Counter: connected OpenAI-compatible requests sharing a job; the last to disconnect cancels it. Deleted then; expires after STREAM_TTL_SECONDS. */
    holders: (jobId: string) => `${prefix}:holders:${jobId}`,
    /** Hash: a record of a waiting job that was cancelled (and so removed from the queue); expires as a completed job would (tombstoneTtlSeconds). */
    tombstone: (jobId: string) => `${prefix}:tomb:${jobId}`,
    /** Sorted set: worker id → last heartbeat (epoch ms). */
    workers: `${prefix}:workers`,
    /** Hash: worker id → JSON of the model it serves, refreshed with its heartbeat (read by `/v1/models`). */
    models: `${prefix}:models`,
    /** Prefix of rate-limit counters (`<prefix>:rl:key:<key digest>`, `<prefix>:rl:ip:<address>`), expiring with their window. */
    rateLimit: `${prefix}:rl`,
    /** Prefix of Bull Board's failed sign-in counters (`<prefix>:board-auth:<address>`), expiring with their window or block. */
    boardSignIn: `${prefix}:board-auth`,
  } as const;
}
export type RedisKeys = ReturnType<typeof redisKeys>;
