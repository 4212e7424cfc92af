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
    /** Sorted set: a tenant's held job ids by priority class, then arrival. An entry goes when its job is admitted, cancelled, or found gone or boosted by an admission; Redis drops the set when empty. */
    fairBacklog: (tenant: string) => `${prefix}:fair:backlog:${tenant}`,
    /** Prefix of `fairBacklog`, for the Lua scripts that name a backlog by its tenant. */
    fairBacklogPrefix: `${prefix}:fair:backlog:`,
    /** Sorted set: tenants with a backlog → jobs admitted for them (virtual time); a tenant leaves with its last held job. */
    fairTenants: `${prefix}:fair:tenants`,
    /** Hash: held job id → tenant, entries removed with their backlog entries. */
    fairHeld: `${prefix}:fair:held`,
    /** Sorted set: admitted job ids → when (ms), until their promote is seen (milliseconds; at most 10 s for an admitter that died). */
    fairAdmitting: `${prefix}:fair:admitting`,
    /** Sorted set: ids of jobs let straight into the ready set → when (ms), until their add is seen; entries lapse after 5 s, the key 5 s after the last. */
    fairReserved: `${prefix}:fair:reserved`,
    /** Sorted set: worker id → last heartbeat (epoch ms). */
    workers: `${prefix}:workers`,
    /** Hash: worker id → JSON of the model it serves, refreshed with its heartbeat (read by `/v1/models`). */
    models: `${prefix}:models`,
    /** Prefix of rate-limit counters (`<prefix>:rl:key:<key digest>`, `<prefix>:rl:ip:<address>`), expiring with their window. */
    rateLimit: `${prefix}:rl`,
    /** Prefix of Bull Board's failed sign-in counters (`<prefix>:board-auth:<address>`), expiring with their window or block. */
    boardSignIn: `${prefix}:board-auth`,
    /**
     * Sorted set: a tenant's live jobs (queued or active), job id → epoch ms it was admitted. Added
     * with the quota check, removed when the job ends (worker, cancel) or by the API's prune when its
     * job is finished or gone; Redis drops it when empty.
     */
    tenantJobs: (tenant: string) => `${prefix}:tenant-jobs:${tenant}`,
    /** Set: the tenants that have a `tenantJobs` set, for the prune; a tenant leaves it with its last live job. */
    tenantsWithJobs: `${prefix}:tenants-with-jobs`,
    /** String: held (PX) by the API process pruning `tenantJobs` this round, so replicas take turns. */
    tenantJobsPrune: `${prefix}:tenant-jobs-prune`,
    /**
     * Hash: a batch's record (status, timestamps, counts, files, the next line to admit); expires
     * BATCH_RETENTION_SECONDS after the batch ends.
     */
    batch: (id: string) => `${prefix}:batch:${id}`,
    /** Hash: a running batch's lines in the queue, line number → JSON of its job; deleted when the batch ends. */
    batchLines: (id: string) => `${prefix}:batch-lines:${id}`,
    /** Sorted set: a tenant's batch ids → created (ms), for listing; entries older than the retention are pruned as it is read. */
    batchesOf: (tenant: string) => `${prefix}:batches:${tenant}`,
    /** Hash: unfinished batch id → status; an entry goes when its batch ends (every API process sees that each has a coordinator). */
    batchesLive: `${prefix}:batches-live`,
    /** Hash: a tenant's usage on one UTC day (`YYYY-MM-DD`); expires USAGE_RETENTION_DAYS after the day. */
    usage: (tenant: string, day: string) => `${prefix}:usage:${tenant}:${day}`,
  } as const;
}
export type RedisKeys = ReturnType<typeof redisKeys>;
