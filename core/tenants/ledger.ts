import type { Redis } from 'ioredis';
import type { RedisKeys } from '../keys.ts';
import { ADMIT, FINISH, FORGET, SETTLE } from './ledger-scripts.ts';
import { usageExpiresAt, utcDay } from './usage-day.ts';
import { usageFromHash, type JobTokens, type TenantJobOutcome, type UsageCounts } from './usage.ts';

/** A tenant's limits as the admission applies them; 0 is no limit. */
export interface AdmissionLimits {
  maxJobs: number;
  tokensPerDay: number;
}

export type AdmitResult =
  | { admitted: true; liveJobs: number }
  | { admitted: false; reason: 'budget_exceeded'; tokensUsed: number }
  | { admitted: false; reason: 'too_many_jobs'; liveJobs: number };

/** What became of an admitted submission. */
export interface Settlement {
  /** A job of its own now holds the slot (not a cache hit, not a request that joined another job). */
  added: boolean;
  /** Count the request in `requests` now: one the admission did not count (answered from the cache). */
  countRequest: boolean;
  cacheHit: boolean;
}

/**
 * Per-tenant bookkeeping in Redis, shared by every process: the jobs each tenant has queued or
 * active (for `TENANT_MAX_JOBS`) and what it used per UTC day (for `TENANT_TOKENS_PER_DAY` and
 * `GET /api/v1/usage`). Every step is one Lua script (ledger-scripts.ts).
 */
export class TenantLedger {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    /** `USAGE_RETENTION_DAYS`: a day's record expires this long after the day ends. */
    private readonly retentionDays: number,
  ) {}

  private dayKeys(tenant: string, day: string): string[] {
    return [this.keys.tenantJobs(tenant), this.keys.tenantsWithJobs, this.keys.usage(tenant, day)];
  }

  /** Checks the tenant's budget and job limit and, within both, holds a slot under `jobId` and counts the request. */
  async admit(tenant: string, jobId: string, limits: AdmissionLimits, now = Date.now()): Promise<AdmitResult> {
    const day = utcDay(now);
    const [code, figure] = (await ADMIT.run(this.redis, this.dayKeys(tenant, day), [
      jobId,
      now,
      limits.maxJobs,
      limits.tokensPerDay,
      tenant,
      usageExpiresAt(day, this.retentionDays),
    ])) as [number, number];
    if (code === 1) return { admitted: false, reason: 'budget_exceeded', tokensUsed: figure };
    if (code === 2) return { admitted: false, reason: 'too_many_jobs', liveJobs: figure };
    return { admitted: true, liveJobs: figure };
  }

  /** After the submission: gives the slot back unless a job of its own holds it; counts the request when asked to. */
  async settle(tenant: string, jobId: string, settlement: Settlement, now = Date.now()): Promise<void> {
    const day = utcDay(now);
    await SETTLE.run(this.redis, this.dayKeys(tenant, day), [
      jobId,
      flag(settlement.added),
      flag(settlement.countRequest),
      flag(settlement.cacheHit),
      usageExpiresAt(day, this.retentionDays),
      tenant,
    ]);
  }

  /**
   * Records a job's end on the day it finished: frees its slot and counts its outcome and tokens.
   * Idempotent: true only for the call that recorded it.
   */
  async finish(tenant: string, jobId: string, outcome: TenantJobOutcome, tokens: JobTokens, finishedAt: number): Promise<boolean> {
    const day = utcDay(finishedAt);
    const recorded = await FINISH.run(this.redis, this.dayKeys(tenant, day), [
      jobId,
      outcome,
      tokens.prompt_tokens,
      tokens.completion_tokens,
      usageExpiresAt(day, this.retentionDays),
      tenant,
    ]);
    return recorded === 1;
  }

  /** Drops ids whose jobs are gone, with nothing to record. */
  async forget(tenant: string, jobIds: string[]): Promise<number> {
    return (await FORGET.run(this.redis, [this.keys.tenantJobs(tenant), this.keys.tenantsWithJobs], [tenant, ...jobIds])) as number;
  }

  /** Adds requests answered without a slot (cached answers), gathered per tenant and day, in one round trip. */
  async countRequests(counts: readonly { tenant: string; day: string; requests: number; cacheHits: number }[]): Promise<void> {
    if (counts.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const { tenant, day, requests, cacheHits } of counts) {
      const key = this.keys.usage(tenant, day);
      pipeline.hincrby(key, 'requests', requests);
      if (cacheHits > 0) pipeline.hincrby(key, 'cache_hits', cacheHits);
      pipeline.expireat(key, usageExpiresAt(day, this.retentionDays));
    }
    await pipeline.exec();
  }

  /** The tenant's counts for each of `days` (all zeros for a day without a record), in one round trip. */
  async usage(tenant: string, days: string[]): Promise<UsageCounts[]> {
    const pipeline = this.redis.pipeline();
    for (const day of days) pipeline.hgetall(this.keys.usage(tenant, day));
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, hash]) => {
      if (error) throw error;
      return usageFromHash(hash as Record<string, string>);
    });
  }

  /** Jobs the tenant has queued or active now. */
  async liveJobs(tenant: string): Promise<number> {
    return await this.redis.zcard(this.keys.tenantJobs(tenant));
  }

  /** Tenants that hold live jobs (or did, until the prune looks). */
  async tenantsWithJobs(): Promise<string[]> {
    return await this.redis.smembers(this.keys.tenantsWithJobs);
  }

  /** Up to `count` ids of the tenant's live jobs admitted before `before` (ms), from `offset`, oldest first. */
  async admittedBefore(tenant: string, before: number, offset: number, count: number): Promise<string[]> {
    return await this.redis.zrangebyscore(this.keys.tenantJobs(tenant), '-inf', `(${before}`, 'LIMIT', offset, count);
  }
}

const flag = (value: boolean) => (value ? 1 : 0);
