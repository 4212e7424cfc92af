import { BATCH_SCORE_FLOOR } from '../job-contract.ts';
import { LuaScript } from '../lua-script.ts';

/**
 * The Lua side of fair scheduling (docs/architecture.md, "Fair scheduling"). Every step that reads
 * and changes the backlogs is one script, so API processes and workers may run them at once.
 *
 * Keys, as docs/redis.md lists them:
 * - `fair:backlog:<tenant>`: sorted set of the tenant's held job ids, by priority class, then arrival;
 * - `fair:tenants`: sorted set of the tenants with a backlog, by the jobs admitted for them (their
 *   virtual time); a tenant leaves it with its last held job;
 * - `fair:held`: hash, held job id → tenant (a job's backlog, for a cancel and for its position);
 * - `fair:admitting`: sorted set of ids taken from a backlog whose promote has not been seen yet,
 *   by when (ms): they count as ready, so concurrent admissions never overfill the ready set;
 * - `fair:reserved`: sorted set of ids of jobs let straight into the ready set whose add has not
 *   been seen yet, by when (ms): they count as ready too, so a burst of submissions (300 at once
 *   from one client) cannot all see the same free room.
 */

/** Room for the arrival order within a priority class of a backlog: 2^32 jobs. */
export const CLASS_SPAN = 2 ** 32;
/** An admitted job still not promoted after this long lost its admitter (a process that died): promoted again. */
export const STALE_ADMISSION_MS = 10_000;
/** A place reserved for a job whose add never came (it joined another job, or failed) lapses after this long. */
export const RESERVATION_MS = 5000;
/**
 * Lua: the interactive jobs of the prioritized set. Batch lines (BATCH_PRIORITY) sort after them
 * and are paced by their batch's coordinator, so they never fill the ready set that fairness keeps
 * short: an interactive job is not held because a batch is running.
 */
const INTERACTIVE_READY = (key: string) => `redis.call('ZCOUNT', ${key}, '-inf', '(${BATCH_SCORE_FLOOR}')`;
/** Backlog entries one admission looks at, at most: bounds a script's time when many are stale. */
const MAX_EXAMINED = 1000;

/**
 * Lua: the reserved places still pending (their job not added yet), forgetting the others. A
 * job's hash and its place in the ready set are written by one BullMQ script, so a job that exists
 * is counted there, or has left it.
 */
const RESERVED = `
local function reservedPending(reservedKey, jobPrefix, now)
  local pending = 0
  local entries = redis.call('ZRANGE', reservedKey, 0, -1, 'WITHSCORES')
  for i = 1, #entries, 2 do
    local id = entries[i]
    if redis.call('EXISTS', jobPrefix .. id) == 1 or tonumber(entries[i + 1]) <= now - ${RESERVATION_MS} then
      redis.call('ZREM', reservedKey, id)
    else
      pending = pending + 1
    end
  end
  return pending
end
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * KEYS: wait, prioritized, delayed, tenants, held, admitting, reserved. ARGV: ready depth, backlog
 * key prefix, job key prefix, then the script's own.
 */
const PRELUDE = `${RESERVED}
local rcall = redis.call
local waitKey, prioritizedKey, delayedKey = KEYS[1], KEYS[2], KEYS[3]
local tenantsKey, heldKey, admittingKey, reservedKey = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local depth = tonumber(ARGV[1])
local backlogPrefix, jobPrefix = ARGV[2], ARGV[3]

-- While the ready set has room, the tenant admitted least so far gives its best held job.
-- Returns {tenants still with a backlog, id to promote...}.
local function admit()
  local now = nowMs()
  local out = {0}
  local pending = reservedPending(reservedKey, jobPrefix, now)
  local inFlight = rcall('ZRANGE', admittingKey, 0, -1, 'WITHSCORES')
  for i = 1, #inFlight, 2 do
    local id = inFlight[i]
    if rcall('ZSCORE', delayedKey, id) then
      pending = pending + 1
      if tonumber(inFlight[i + 1]) <= now - ${STALE_ADMISSION_MS} then
        rcall('ZADD', admittingKey, now, id)
        out[#out + 1] = id
      end
    else
      rcall('ZREM', admittingKey, id)
    end
  end
  local room = depth - rcall('LLEN', waitKey) - ${INTERACTIVE_READY('prioritizedKey')} - pending
  -- Fair scheduling turned off: what is still held goes.
  if depth <= 0 then room = ${MAX_EXAMINED} end
  local examined = 0
  while room > 0 and examined < ${MAX_EXAMINED} do
    local first = rcall('ZRANGE', tenantsKey, 0, 0, 'WITHSCORES')
    if #first == 0 then break end
    local tenant, served = first[1], tonumber(first[2])
    local backlog = backlogPrefix .. tenant
    local head = rcall('ZPOPMIN', backlog)
    if #head > 0 then
      examined = examined + 1
      local id = head[1]
      rcall('HDEL', heldKey, id)
      -- Only a job still held counts: not cancelled or removed, not promoted by its boost (nor
      -- run since and waiting for a retry).
      if rcall('ZSCORE', delayedKey, id) and not rcall('HGET', jobPrefix .. id, 'ats') then
        rcall('ZADD', admittingKey, now, id)
        out[#out + 1] = id
        room = room - 1
        served = served + 1
      end
    end
    if rcall('EXISTS', backlog) == 1 then
      rcall('ZADD', tenantsKey, served, tenant)
    else
      rcall('ZREM', tenantsKey, tenant)
    end
  end
  out[1] = rcall('ZCARD', tenantsKey)
  return out
end
`;

/** Admission alone: after a job finished, and on the API's timer. */
export const ADMIT = new LuaScript(`${PRELUDE}
return admit()`);

/**
 * A held job joins its tenant's backlog (ARGV[4] id, ARGV[5] tenant, ARGV[6] priority), then
 * admission runs: the ready set may have room by now. A tenant that had no backlog enters at the
 * virtual time of the tenant served next, so it neither waits for the others' history nor gets
 * credit for having been away.
 */
export const HOLD = new LuaScript(`${PRELUDE}
local id, tenant, priority = ARGV[4], ARGV[5], tonumber(ARGV[6])
local backlog = backlogPrefix .. tenant
local low = priority * ${CLASS_SPAN}
local last = rcall('ZREVRANGEBYSCORE', backlog, '(' .. (low + ${CLASS_SPAN}), low, 'WITHSCORES', 'LIMIT', 0, 1)
rcall('ZADD', backlog, last[2] and (tonumber(last[2]) + 1) or low, id)
rcall('HSET', heldKey, id, tenant)
if not rcall('ZSCORE', tenantsKey, tenant) then
  local least = rcall('ZRANGE', tenantsKey, 0, 0, 'WITHSCORES')
  rcall('ZADD', tenantsKey, least[2] or 0, tenant)
end
return admit()`);

/** A cancelled job (ARGV[4] id) leaves its backlog; its place in the ready set, if it had one, is refilled. */
export const WITHDRAW = new LuaScript(`${PRELUDE}
local id = ARGV[4]
rcall('ZREM', admittingKey, id)
local tenant = rcall('HGET', heldKey, id)
if tenant then
  rcall('HDEL', heldKey, id)
  local backlog = backlogPrefix .. tenant
  rcall('ZREM', backlog, id)
  if rcall('EXISTS', backlog) == 0 then rcall('ZREM', tenantsKey, tenant) end
end
return admit()`);

/**
 * The submission's only extra call: 1 when the job must be held, because its tenant already has
 * a backlog (its jobs keep their order) or the ready set is full; else 0, and the job's place is
 * reserved until its add lands. KEYS: wait, prioritized, admitting, reserved, the tenant's
 * backlog. ARGV: ready depth, job key prefix, the job's id.
 */
export const MUST_HOLD = new LuaScript(`${RESERVED}
if redis.call('EXISTS', KEYS[5]) == 1 then return 1 end
local now = nowMs()
local ready = redis.call('LLEN', KEYS[1]) + ${INTERACTIVE_READY('KEYS[2]')} + redis.call('ZCARD', KEYS[3])
  + reservedPending(KEYS[4], ARGV[2], now)
if ready >= tonumber(ARGV[1]) then return 1 end
redis.call('ZADD', KEYS[4], now, ARGV[3])
redis.call('PEXPIRE', KEYS[4], ${RESERVATION_MS})
return 0`);
