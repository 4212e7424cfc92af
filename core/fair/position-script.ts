import { BATCH_SCORE_FLOOR } from '../job-contract.ts';
import { RESERVATION_MS } from './admission-scripts.ts';
import { LuaScript } from '../lua-script.ts';

/** What the position script answers for a job that has finished (completed or failed) or is gone. */
export const FINISHED_OR_GONE = -1;
/** ... and for one that waits nowhere: active, or delayed for a retry. */
export const NOT_WAITING = -2;

/**
 * Queue positions of many jobs in one call: how many jobs run before each under the fair schedule.
 *
 * - In the ready set: its rank there. BullMQ takes the wait list first, from its tail, then the
 *   prioritized set in score order.
 * - Admitted, its promote not yet seen: at most the ready set less itself (it joins the set
 *   behind jobs of its priority). The ready set counts these, and the places reserved for jobs
 *   being added straight into it.
 * - Held: the whole ready set, then the held jobs the round robin admits first: those ahead of it
 *   in its own backlog, and of every other tenant the jobs whose virtual start comes first (ties
 *   go by tenant name, as the tenants' sorted set orders them).
 *
 * A job's position never grows unless jobs are added ahead of it (more urgent ones of its tenant,
 * a tenant that starts queueing): each admission moves a job from the held count to the ready
 * count, so the sum stands still until a worker takes a job.
 *
 * For each id: FINISHED_OR_GONE, NOT_WAITING or the position (the test for finished is BullMQ's own
 * `isFinished`, which the job state watcher made before positions existed). The sizes are read
 * once per call, and only when a job needs them.
 *
 * KEYS: wait, prioritized, delayed, tenants, held, admitting, completed, failed, reserved.
 * ARGV: backlog key prefix, job key prefix, then the job ids.
 */
export const POSITIONS = new LuaScript(`
local rcall = redis.call
local waitKey, prioritizedKey, delayedKey = KEYS[1], KEYS[2], KEYS[3]
local tenantsKey, heldKey, admittingKey = KEYS[4], KEYS[5], KEYS[6]
local completedKey, failedKey, reservedKey = KEYS[7], KEYS[8], KEYS[9]
local backlogPrefix, jobPrefix = ARGV[1], ARGV[2]

local waiting, readySize
local function waitLen()
  if not waiting then waiting = rcall('LLEN', waitKey) end
  return waiting
end
local function ready()
  if not readySize then
    local pending = 0
    for _, id in ipairs(rcall('ZRANGE', admittingKey, 0, -1)) do
      if rcall('ZSCORE', delayedKey, id) then pending = pending + 1 end
    end
    local t = rcall('TIME')
    local since = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - ${RESERVATION_MS}
    local reserved = rcall('ZRANGEBYSCORE', reservedKey, '(' .. since, '+inf')
    for _, id in ipairs(reserved) do
      if rcall('EXISTS', jobPrefix .. id) == 0 then pending = pending + 1 end
    end
    -- Batch lines sort after every interactive job: they are not ahead of a held one.
    readySize = waitLen() + rcall('ZCOUNT', prioritizedKey, '-inf', '(${BATCH_SCORE_FLOOR}') + pending
  end
  return readySize
end
local sizes = {}
local function backlogSize(tenant)
  local n = sizes[tenant]
  if not n then
    n = rcall('ZCARD', backlogPrefix .. tenant)
    sizes[tenant] = n
  end
  return n
end
-- Byte order, as Redis orders members of equal score (Lua's < follows the server's locale).
local function before(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local function heldAhead(tenant, id)
  local rank = rcall('ZRANK', backlogPrefix .. tenant, id)
  if not rank then return nil end
  local own = rcall('ZSCORE', tenantsKey, tenant)
  if not own then return rank end
  local start = tonumber(own) + rank
  local ahead = rank
  local others = rcall('ZRANGEBYSCORE', tenantsKey, '-inf', start, 'WITHSCORES')
  for i = 1, #others, 2 do
    local other = others[i]
    if other ~= tenant then
      local first = start - tonumber(others[i + 1])
      if before(other, tenant) then first = first + 1 end
      if first > 0 then ahead = ahead + math.min(first, backlogSize(other)) end
    end
  end
  return ahead
end

local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local position = -2
  if rcall('EXISTS', jobPrefix .. id) == 0 or rcall('ZSCORE', completedKey, id) or rcall('ZSCORE', failedKey, id) then
    position = -1
  else
    local rank = rcall('ZRANK', prioritizedKey, id)
    if rank then
      position = waitLen() + rank
    else
      local at = rcall('LPOS', waitKey, id)
      if at then
        position = waitLen() - 1 - at
      elseif rcall('ZSCORE', delayedKey, id) then
        if rcall('ZSCORE', admittingKey, id) then
          position = ready() - 1
        else
          local tenant = rcall('HGET', heldKey, id)
          if tenant then
            local ahead = heldAhead(tenant, id)
            if ahead then position = ready() + ahead end
          end
        end
      end
    end
  end
  out[#out + 1] = position
end
return out`);
