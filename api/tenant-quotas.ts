import { AppError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { AdmissionLimits, Settlement, TenantLedger } from '../core/tenants/ledger.ts';
import { countTenantJobEnd } from '../core/tenants/tenant-metrics.ts';
import { secondsUntilNextUtcMidnight, utcDay } from '../core/tenants/usage-day.ts';

/** How long cached answers are counted in memory before their usage is written. */
const COUNT_FLUSH_MS = 250;

/** A submission the quotas let through, holding a slot under the id its job will have. */
export interface Admission {
  readonly jobId: string;
  /**
   * What came of it: a job of its own (the slot stays taken until the job ends), or a cache hit or a
   * request that joined another job (the slot is given back); undefined when the submission failed.
   * Never throws: a slot that cannot be given back now is freed by the prune.
   */
  settle(outcome: { added: boolean; cacheHit: boolean } | undefined): Promise<void>;
}

/** What the job service asks of the quotas. */
export interface QuotaGate {
  /** Throws `429 budget_exceeded` or `429 too_many_jobs`, before anything is done; the slot is held under `jobId`. */
  admit(tenant: string, jobId: string): Promise<Admission>;
  /** A request answered without asking for a slot (from the cache): counted in its tenant's usage. Never throws. */
  counted(tenant: string, outcome: { cacheHit: boolean }): Promise<void>;
  /** A waiting job the API removed: its slot is freed and it counts as cancelled. Never throws. */
  cancelled(tenant: string, jobId: string): Promise<void>;
}

/**
 * `TENANT_MAX_JOBS` and `TENANT_TOKENS_PER_DAY` (or a tenant's own limits from `API_KEYS_FILE`),
 * checked in Redis so every API process enforces the same numbers: one script call checks both
 * and takes the slot, one more after the submission settles it and counts the request.
 */
export class TenantQuotas implements QuotaGate {
  /** Requests answered from the cache, by tenant and day, not yet written. */
  private readonly unwritten = new Map<string, { tenant: string; day: string; requests: number; cacheHits: number }>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: {
      ledger: TenantLedger;
      limitsOf: (tenant: string) => AdmissionLimits;
      logger: Logger;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  async admit(tenant: string, jobId: string): Promise<Admission> {
    const now = this.now();
    const limits = this.deps.limitsOf(tenant);
    const result = await this.deps.ledger.admit(tenant, jobId, limits, now);
    if (!result.admitted) {
      if (result.reason === 'budget_exceeded') throw budgetExceeded(tenant, result.tokensUsed, limits.tokensPerDay, now);
      throw tooManyJobs(tenant, result.liveJobs, limits.maxJobs);
    }
    return {
      jobId,
      // Counted by the admission already; nothing to do when a job of its own holds the slot.
      settle: async (outcome) => {
        if (!outcome?.added) await this.settle(tenant, jobId, { added: false, countRequest: false, cacheHit: outcome?.cacheHit ?? false });
      },
    };
  }

  private async settle(tenant: string, jobId: string, settlement: Settlement): Promise<void> {
    try {
      await this.deps.ledger.settle(tenant, jobId, settlement, this.now());
    } catch (error) {
      this.deps.logger.warn({ tenant, jobId, err: (error as Error).message }, 'submission not settled in the tenant ledger: the prune frees its slot');
    }
  }

  /**
   * Counted in memory and written every `COUNT_FLUSH_MS` in one round trip for all tenants: a
   * cached answer, the cheapest request there is, costs Redis nothing of its own for its usage.
   */
  async counted(tenant: string, outcome: { cacheHit: boolean }): Promise<void> {
    const day = utcDay(this.now());
    const key = `${tenant}\n${day}`;
    const count = this.unwritten.get(key) ?? { tenant, day, requests: 0, cacheHits: 0 };
    count.requests += 1;
    if (outcome.cacheHit) count.cacheHits += 1;
    this.unwritten.set(key, count);
    this.flushTimer ??= setTimeout(() => void this.flush(), COUNT_FLUSH_MS).unref();
  }

  /** Writes the requests counted in memory. Never throws: what cannot be written now is kept for the next round. */
  async flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const counts = [...this.unwritten.values()];
    this.unwritten.clear();
    try {
      await this.deps.ledger.countRequests(counts);
    } catch (error) {
      for (const count of counts) {
        const key = `${count.tenant}\n${count.day}`;
        const later = this.unwritten.get(key);
        this.unwritten.set(key, later ? { ...count, requests: count.requests + later.requests, cacheHits: count.cacheHits + later.cacheHits } : count);
      }
      this.flushTimer ??= setTimeout(() => void this.flush(), COUNT_FLUSH_MS).unref();
      this.deps.logger.warn({ err: (error as Error).message }, 'cached answers not counted in tenant usage yet: retrying');
    }
  }

  async cancelled(tenant: string, jobId: string): Promise<void> {
    const none = { prompt_tokens: 0, completion_tokens: 0 };
    try {
      if (await this.deps.ledger.finish(tenant, jobId, 'cancelled', none, this.now())) countTenantJobEnd(tenant, 'cancelled', none);
    } catch (error) {
      this.deps.logger.warn({ tenant, jobId, err: (error as Error).message }, 'cancel not recorded in the tenant ledger: the prune frees its slot');
    }
  }
}

function budgetExceeded(tenant: string, used: number, budget: number, now: number): AppError {
  return new AppError(
    429,
    'budget_exceeded',
    `tenant ${tenant} has used ${used} tokens today (UTC), its budget is ${budget} per day; it renews at midnight UTC`,
    {
      headers: {
        'Retry-After': String(secondsUntilNextUtcMidnight(now)),
        // OpenAI's clients retry a 429 within seconds unless told not to; nothing changes before midnight.
        'x-should-retry': 'false',
      },
    },
  );
}

function tooManyJobs(tenant: string, live: number, max: number): AppError {
  return new AppError(
    429,
    'too_many_jobs',
    `tenant ${tenant} has ${live} jobs queued or active, its limit is ${max}; submit more once some have finished (or cancel some)`,
  );
}
