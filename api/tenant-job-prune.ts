import type { Redis } from 'ioredis';
import type { GenerationResult } from '../core/job-contract.ts';
import type { RedisKeys } from '../core/keys.ts';
import type { Logger } from '../core/logger.ts';
import { LuaScript } from '../core/lua-script.ts';
import type { GenerateQueue } from '../core/queue.ts';
import type { TenantLedger } from '../core/tenants/ledger.ts';
import { countTenantJobEnd } from '../core/tenants/tenant-metrics.ts';
import type { JobTokens, TenantJobOutcome } from '../core/tenants/usage.ts';

/** How often one API process looks over the tenants' live jobs. */
const PRUNE_INTERVAL_MS = 60_000;
/**
 * Ids younger than this are left alone: a slot is taken a moment before its job is added to the
 * queue, and that moment must never look like a job that is gone.
 */
const PRUNE_GRACE_MS = 60_000;
/** Ids checked per script call. */
const BATCH = 500;

/** Per id: 0 still queued or active, 1 completed, 2 failed, 3 gone. KEYS: completed, failed, then each job's hash; ARGV: the ids. */
const CLASSIFY = new LuaScript(`
local out = {}
for i = 1, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then out[i] = 1
  elseif redis.call('ZSCORE', KEYS[2], ARGV[i]) then out[i] = 2
  elseif redis.call('EXISTS', KEYS[i + 2]) == 0 then out[i] = 3
  else out[i] = 0 end
end
return out
`);

export interface PruneReport {
  checked: number;
  /** Ends the worker had not recorded (it died, or Redis refused it), recorded now. */
  recorded: number;
  /** Ids whose jobs are gone (removed from Bull Board, or past their retention): freed, nothing to record. */
  forgotten: number;
}

/**
 * The safety net of `TENANT_MAX_JOBS`: a worker that dies between a job's end and its record, or
 * a job removed behind the system's back, would otherwise hold a tenant's slot forever. Every
 * minute one API process (the others find the round taken) checks the ids older than a minute,
 * 500 per script call, records the ends nobody recorded and drops the ids of jobs that are gone.
 */
export class TenantJobPrune {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: {
      redis: Redis;
      keys: RedisKeys;
      /** Every model's queue: a job is in one of them. */
      queues: readonly GenerateQueue[];
      ledger: TenantLedger;
      logger: Logger;
    },
    private readonly options: { intervalMs?: number; graceMs?: number } = {},
  ) {}

  start(): this {
    const interval = this.options.intervalMs ?? PRUNE_INTERVAL_MS;
    this.timer = setInterval(() => void this.tick(interval), interval);
    this.timer.unref();
    return this;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async tick(interval: number): Promise<void> {
    try {
      // One process per round; the hold expires before the next round, whoever took it.
      const mine = await this.deps.redis.set(this.deps.keys.tenantJobsPrune, String(process.pid), 'PX', Math.max(1000, interval - 1000), 'NX');
      if (mine !== 'OK') return;
      const report = await this.runOnce();
      if (report.recorded + report.forgotten > 0) this.deps.logger.info(report, 'tenant job slots pruned');
    } catch (error) {
      this.deps.logger.warn({ err: (error as Error).message }, 'tenant job prune failed; the next round tries again');
    }
  }

  /** One round over every tenant with live jobs. */
  async runOnce(now = Date.now()): Promise<PruneReport> {
    const report: PruneReport = { checked: 0, recorded: 0, forgotten: 0 };
    const before = now - (this.options.graceMs ?? PRUNE_GRACE_MS);
    for (const tenant of await this.deps.ledger.tenantsWithJobs()) {
      let offset = 0;
      for (;;) {
        const ids = await this.deps.ledger.admittedBefore(tenant, before, offset, BATCH);
        // An empty call also takes a tenant with no live jobs left out of the index.
        if (ids.length === 0 && offset === 0) await this.deps.ledger.forget(tenant, []);
        if (ids.length === 0) break;
        const freed = await this.settle(tenant, ids, report);
        offset += ids.length - freed;
        if (ids.length < BATCH) break;
      }
    }
    return report;
  }

  /** Checks one batch; returns how many ids left the set. */
  private async settle(tenant: string, ids: string[], report: PruneReport): Promise<number> {
    const { queues, ledger, redis } = this.deps;
    const perQueue = await Promise.all(
      queues.map(async (queue) => (await CLASSIFY.run(redis, [queue.toKey('completed'), queue.toKey('failed'), ...ids.map((id) => queue.toKey(id))], ids)) as number[]),
    );
    // Where each job is: the first queue that has it, if any.
    const found = ids.map((_, i) => {
      const at = perQueue.findIndex((states) => states[i] !== 3);
      return at < 0 ? undefined : { queue: queues[at]!, state: perQueue[at]![i] };
    });
    report.checked += ids.length;
    const gone = ids.filter((_, i) => found[i] === undefined);
    const ended = ids.flatMap((id, i) => {
      const where = found[i];
      return where && (where.state === 1 || where.state === 2) ? [{ id, queue: where.queue, failed: where.state === 2 }] : [];
    });
    let freed = gone.length > 0 ? await ledger.forget(tenant, gone) : 0;
    report.forgotten += freed;
    for (const { id, queue, failed } of ended) {
      const [returned, finishedOn] = await redis.hmget(queue.toKey(id), 'returnvalue', 'finishedOn');
      const end = failed ? FAILED : completedEnd(returned ?? null);
      if (!end) {
        // Removed by its retention since the check: nothing left to record.
        report.forgotten += await ledger.forget(tenant, [id]);
      } else if (await ledger.finish(tenant, id, end.outcome, end.tokens, Number(finishedOn) || Date.now())) {
        countTenantJobEnd(tenant, end.outcome, end.tokens);
        report.recorded += 1;
      }
      // Recorded here or by its worker in the meantime: either way the id is no longer in the set.
      freed += 1;
    }
    return freed;
  }
}

interface JobEnd {
  outcome: TenantJobOutcome;
  tokens: JobTokens;
}

/** A failed job has no result: nothing it may have generated is counted. */
const FAILED: JobEnd = { outcome: 'failed', tokens: { prompt_tokens: 0, completion_tokens: 0 } };

/** A completed job's end from its stored result; undefined when the job is no longer there. */
function completedEnd(returned: string | null): JobEnd | undefined {
  let result: Partial<GenerationResult> | null;
  try {
    result = returned ? (JSON.parse(returned) as Partial<GenerationResult> | null) : null;
  } catch {
    result = null;
  }
  if (!result?.usage) return undefined;
  return {
    outcome: result.finish_reason === 'cancelled' ? 'cancelled' : 'completed',
    tokens: { prompt_tokens: result.usage.prompt_tokens, completion_tokens: result.usage.completion_tokens },
  };
}
