/**
 * The tenant ledger's Lua scripts. Each runs atomically in Redis, which is what makes the counts
 * hold across every API and worker process: a check and the slot it grants are one step, and a
 * job's end is recorded once however many processes report it.
 *
 * Common keys: KEYS[1] the tenant's live jobs (sorted set), KEYS[2] the set of tenants that have
 * live jobs, KEYS[3] the tenant's usage hash of the day concerned.
 */

import { LuaScript } from '../lua-script.ts';

/** Redis drops an empty sorted set; the tenant then leaves the index with it. */
const LEAVE_INDEX_WHEN_EMPTY = `
local function leaveIndexWhenEmpty(tenant)
  if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], tenant) end
end
`;

/**
 * ARGV: job id, now (ms), max jobs (0: none), tokens per day (0: none), tenant, usage expires at (s).
 * Returns {0, live jobs after} when admitted (the request is counted), {1, tokens used today} over
 * the budget, {2, live jobs} at the job limit.
 */
export const ADMIT = new LuaScript(`
local budget = tonumber(ARGV[4])
if budget > 0 then
  local used = redis.call('HMGET', KEYS[3], 'prompt_tokens', 'completion_tokens')
  local total = (tonumber(used[1]) or 0) + (tonumber(used[2]) or 0)
  if total >= budget then return {1, total} end
end
local live = redis.call('ZCARD', KEYS[1])
local max = tonumber(ARGV[3])
if max > 0 and live >= max then return {2, live} end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[5])
redis.call('HINCRBY', KEYS[3], 'requests', 1)
redis.call('EXPIREAT', KEYS[3], ARGV[6])
return {0, live + 1}
`);

/**
 * After a submission: gives the slot back unless a job now holds it, and counts a request the
 * admission did not count (one answered from the cache without asking the quotas).
 * ARGV: job id, job added (1/0), count the request (1/0), cache hit (1/0), expire at (s), tenant.
 */
export const SETTLE = new LuaScript(`${LEAVE_INDEX_WHEN_EMPTY}
if ARGV[2] == '0' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  leaveIndexWhenEmpty(ARGV[6])
end
if ARGV[3] == '1' then
  redis.call('HINCRBY', KEYS[3], 'requests', 1)
  if ARGV[4] == '1' then redis.call('HINCRBY', KEYS[3], 'cache_hits', 1) end
  redis.call('EXPIREAT', KEYS[3], ARGV[5])
end
return 1
`);

/**
 * A job's end: frees its slot and counts it with its tokens, once. Whoever removes the id from the
 * live set records the end; a second report (the prune after a worker that recorded it, a retried
 * call) finds no id and records nothing. Returns 1 when recorded.
 * ARGV: job id, outcome field, prompt tokens, completion tokens, expire at (s), tenant.
 */
export const FINISH = new LuaScript(`${LEAVE_INDEX_WHEN_EMPTY}
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
leaveIndexWhenEmpty(ARGV[6])
redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
local prompt = tonumber(ARGV[3])
local completion = tonumber(ARGV[4])
if prompt > 0 then redis.call('HINCRBY', KEYS[3], 'prompt_tokens', prompt) end
if completion > 0 then redis.call('HINCRBY', KEYS[3], 'completion_tokens', completion) end
redis.call('EXPIREAT', KEYS[3], ARGV[5])
return 1
`);

/**
 * Drops ids whose jobs are gone (nothing to record). KEYS[1], KEYS[2] as above.
 * ARGV: tenant, then the ids. Returns how many were removed.
 */
export const FORGET = new LuaScript(`${LEAVE_INDEX_WHEN_EMPTY}
local removed = 0
if #ARGV > 1 then removed = redis.call('ZREM', KEYS[1], unpack(ARGV, 2)) end
leaveIndexWhenEmpty(ARGV[1])
return removed
`);
