import type { Redis } from 'ioredis';
import type { RedisKeys } from '../../core/keys.ts';
import { LuaScript } from '../../core/lua-script.ts';
import { decodeBatch, isFinalBatch, type BatchRecord, type BatchStatus } from './batch-object.ts';

/** A line of a running batch that is in the queue: its job, and what is needed to send it again. */
export interface LineEntry {
  /** The job that answers it: its own, or (`shared`) an identical request's that it joined. */
  job: string;
  custom_id: string;
  /** Byte offset of the line in the input file, to read it again should its job be lost. */
  offset: number;
  shared?: boolean;
}

/**
 * Moves a batch from one of the given states to another, stamping `<state>_at`, in one step, so
 * a cancel and a coordinator never both win. A final state drops the batch from the live set and
 * its line table, and starts the record's retention. KEYS: batch, live, lines. ARGV: id, new
 * state, now (s), final (1/0), retention (s), n, n states it may come from, then field/value pairs.
 */
const TRANSITION = new LuaScript(`
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
local n = tonumber(ARGV[6])
local allowed = false
for i = 1, n do
  if ARGV[6 + i] == status then allowed = true end
end
if not allowed then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], ARGV[2] .. '_at', ARGV[3])
for i = 7 + n, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
if ARGV[4] == '1' then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('DEL', KEYS[3])
  redis.call('EXPIRE', KEYS[1], ARGV[5])
else
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
return 1`);

/**
 * Records lines' outcomes exactly once: a line counts only if it was still in the line table, so
 * a coordinator that records again after a crash (or two at once) changes nothing. KEYS: batch,
 * lines. ARGV: line, 1 (completed) or 0 (failed), repeated. Returns the lines it recorded.
 */
const RECORD = new LuaScript(`
local recorded = {}
for i = 1, #ARGV, 2 do
  if redis.call('HDEL', KEYS[2], ARGV[i]) == 1 then
    redis.call('HINCRBY', KEYS[1], ARGV[i + 1] == '1' and 'completed' or 'failed', 1)
    recorded[#recorded + 1] = ARGV[i]
  end
end
return recorded`);

export interface NewBatch {
  id: string;
  tenant: string;
  model: string;
  endpoint: string;
  input_file_id: string;
  completion_window: string;
  /** Epoch seconds. */
  created_at: number;
  expires_at: number;
  metadata: Record<string, string> | null;
}

/** Batches in Redis (docs/redis.md): their records, their lines in the queue, and each tenant's list. */
export class BatchStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    /** BATCH_RETENTION_SECONDS: how long a finished batch stays readable. */
    private readonly retentionSeconds: number,
    /** BATCH_MAX_WINDOW_SECONDS: with the retention, the longest a batch's record can live. */
    private readonly maxWindowSeconds: number,
  ) {}

  async create(batch: NewBatch): Promise<void> {
    const { keys } = this;
    await this.redis
      .multi()
      .hset(keys.batch(batch.id), {
        id: batch.id,
        status: 'validating',
        tenant: batch.tenant,
        model: batch.model,
        endpoint: batch.endpoint,
        input_file_id: batch.input_file_id,
        completion_window: batch.completion_window,
        created_at: batch.created_at,
        expires_at: batch.expires_at,
        ...(batch.metadata ? { metadata: JSON.stringify(batch.metadata) } : {}),
        total: 0,
        completed: 0,
        failed: 0,
        next_line: 1,
        next_offset: 0,
      })
      // By the millisecond: batches created in the same second still list in order.
      .zadd(keys.batchesOf(batch.tenant), Date.now(), batch.id)
      // Entries older than any record can be (its window, a day to finish, its retention) have none.
      .zremrangebyscore(keys.batchesOf(batch.tenant), '-inf', (batch.created_at - this.maxWindowSeconds - 86_400 - this.retentionSeconds) * 1000)
      .hset(keys.batchesLive, batch.id, 'validating')
      .exec();
  }

  async get(id: string): Promise<BatchRecord | undefined> {
    return decodeBatch(await this.redis.hgetall(this.keys.batch(id)));
  }

  /**
   * A tenant's batches, newest first, after the batch `after` (cursor paging). Entries whose record
   * has expired are dropped from the list as they are found.
   */
  async list(tenant: string, options: { after?: string | undefined; limit: number }): Promise<{ batches: BatchRecord[]; hasMore: boolean }> {
    const listKey = this.keys.batchesOf(tenant);
    let start = 0;
    if (options.after !== undefined) {
      const rank = await this.redis.zrevrank(listKey, options.after);
      if (rank === null) return { batches: [], hasMore: false };
      start = rank + 1;
    }
    const batches: BatchRecord[] = [];
    for (;;) {
      const ids = await this.redis.zrevrange(listKey, start, start + options.limit);
      const records = await Promise.all(ids.map(async (id) => ({ id, record: await this.get(id) })));
      const gone = records.filter((entry) => !entry.record).map((entry) => entry.id);
      for (const { record } of records) if (record && batches.length <= options.limit) batches.push(record);
      if (gone.length > 0) await this.redis.zrem(listKey, ...gone);
      if (batches.length > options.limit || ids.length <= options.limit) break;
      start += ids.length - gone.length;
    }
    return { batches: batches.slice(0, options.limit), hasMore: batches.length > options.limit };
  }

  /** Ids of every unfinished batch, with their state. */
  async live(): Promise<Record<string, string>> {
    return await this.redis.hgetall(this.keys.batchesLive);
  }

  /** Moves the batch to `to` if it is in one of `from`; false when it was not. */
  async transition(id: string, from: readonly BatchStatus[], to: BatchStatus, fields: Record<string, string | number> = {}): Promise<boolean> {
    const { keys } = this;
    const pairs = Object.entries(fields).flatMap(([field, value]) => [field, String(value)]);
    const now = Math.floor(Date.now() / 1000);
    const args = [id, to, now, isFinalBatch(to) ? 1 : 0, this.retentionSeconds, from.length, ...from, ...pairs];
    return (await TRANSITION.run(this.redis, [keys.batch(id), keys.batchesLive, keys.batchLines(id)], args)) === 1;
  }

  async setFields(id: string, fields: Record<string, string | number>): Promise<void> {
    await this.redis.hset(this.keys.batch(id), fields);
  }

  /** The batch's lines in the queue, by line number. */
  async lines(id: string): Promise<Map<number, LineEntry>> {
    const raw = await this.redis.hgetall(this.keys.batchLines(id));
    return new Map(Object.entries(raw).map(([line, json]) => [Number(line), JSON.parse(json) as LineEntry]));
  }

  /**
   * Records lines as in the queue before their jobs are added (a crash in between leaves entries
   * whose jobs are missing, and they are sent again), and moves the cursor past them.
   */
  async admit(id: string, entries: ReadonlyMap<number, LineEntry>, next: { line: number; offset: number }): Promise<void> {
    const { keys } = this;
    const multi = this.redis.multi();
    if (entries.size > 0) multi.hset(keys.batchLines(id), Object.fromEntries([...entries].map(([line, entry]) => [line, JSON.stringify(entry)])));
    await multi.hset(keys.batch(id), { next_line: next.line, next_offset: next.offset }).exec();
  }

  /** Points a line at another job (the one it joined, or one sent again). */
  async rebind(id: string, line: number, entry: LineEntry): Promise<void> {
    await this.redis.hset(this.keys.batchLines(id), String(line), JSON.stringify(entry));
  }

  /** Counts lines as completed or failed, once each; returns the lines counted now. */
  async record(id: string, outcomes: readonly { line: number; ok: boolean }[]): Promise<number[]> {
    if (outcomes.length === 0) return [];
    const args = outcomes.flatMap(({ line, ok }) => [line, ok ? 1 : 0]);
    const recorded = (await RECORD.run(this.redis, [this.keys.batch(id), this.keys.batchLines(id)], args)) as (string | number)[];
    return recorded.map(Number);
  }
}
