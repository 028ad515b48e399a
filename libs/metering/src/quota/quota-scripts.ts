/**
 * The Redis Lua scripts of quota enforcement. Each runs atomically (Redis executes one script at
 * a time), which is what makes check-and-reserve race-free across replicas: there is no window
 * between reading a counter and raising it.
 *
 * Keys of one tenant share the hash tag `{<tenantId>}` (Redis Cluster keeps them in one slot):
 * - `{T}:plan`: the tenant's plan token; reservations carry the token of the plan they were
 *   computed from and are told `stale` when it differs (contract changed, or Redis lost it).
 * - `{T}:c:<metric>:<kind>:<periodStartMs>`: one counter per quota line and period, a hash of
 *   `u` (used: ledger total when loaded plus commits since) and `r` (reserved, outstanding).
 *   Its absence means "not loaded": it is rebuilt from the ledger before anything is granted.
 * - `{T}:r:<reservationId>`: a reservation, as JSON: metric `m`, quantity `q`, occurrence `at`
 *   (ms), counter keys `k`, caller metadata `meta`, status `st` (open | committed | released |
 *   expired) and, once committed, the actual quantity `a`. Kept for a day after it settles, so
 *   a retried commit or release answers the same.
 * - `{T}:exp`: open reservations by expiry (ms, Redis clock).
 *
 * A settling reservation's counter keys are read from the reservation itself (same hash slot).
 * Quantities are integers, passed and stored as decimal strings (Lua turns numbers into text
 * with 14 significant digits); comparisons use doubles, exact up to 2^53.
 */

/** Shared helpers, prepended to each script. */
const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Moves an open reservation out of the counters: released or expired (actual = nil), or
-- committed (the actual quantity becomes used). Returns the reservation's fields, or nil.
local function settle(res_key, exp_key, status, actual)
  local raw = redis.call('GET', res_key)
  if not raw then return nil end
  local f = cjson.decode(raw)
  if f.st ~= 'open' then return f end
  for _, ck in ipairs(f.k) do
    if redis.call('EXISTS', ck) == 1 then
      redis.call('HINCRBY', ck, 'r', '-' .. f.q)
      if actual then redis.call('HINCRBY', ck, 'u', actual) end
    end
  end
  f.st = status
  f.a = actual or '0'
  redis.call('SET', res_key, cjson.encode(f), 'PX', 86400000)
  redis.call('ZREM', exp_key, res_key)
  f.settled_now = '1'
  return f
end

-- Expires overdue reservations of the tenant (bounded work per call).
local function sweep(exp_key, now)
  local due = redis.call('ZRANGEBYSCORE', exp_key, '-inf', now, 'LIMIT', 0, 64)
  for _, res_key in ipairs(due) do
    if not settle(res_key, exp_key, 'expired', nil) then redis.call('ZREM', exp_key, res_key) end
  end
end
`;

/**
 * Check-and-reserve across every quota line covering a metric.
 *
 * KEYS: plan token, expiry set, reservation, then one counter per line.
 * ARGV: plan token, quantity, ttl ms, occurredAt ms, metric, meta JSON, then per line:
 * limit, enforcement (`hard` | `soft`).
 *
 * @returns `{'stale'}` when the plan token differs; `{'load', i…}` with the 1-based indexes of
 * counters not loaded yet; `{'refused', i, used, reserved}` for the first hard line that cannot
 * take the quantity; `{'granted', used1, reserved1, …}` with each line's counters before the
 * grant (the caller adds the quantity to `reserved`).
 */
export const RESERVE_SCRIPT = `${PRELUDE}
local plan_key, exp_key, res_key = KEYS[1], KEYS[2], KEYS[3]
if redis.call('GET', plan_key) ~= ARGV[1] then return {'stale'} end
local now = now_ms()
sweep(exp_key, now)
local qty_text = ARGV[2]
local qty = tonumber(qty_text)
local lines = #KEYS - 3
local missing = {'load'}
local counters = {}
for i = 1, lines do
  counters[i] = redis.call('HMGET', KEYS[3 + i], 'u', 'r')
  if not counters[i][1] then missing[#missing + 1] = i end
end
if #missing > 1 then return missing end
for i = 1, lines do
  local c = counters[i]
  local limit, enforcement = tonumber(ARGV[5 + 2 * i]), ARGV[6 + 2 * i]
  if enforcement == 'hard' and tonumber(c[1]) + tonumber(c[2]) + qty > limit then
    return {'refused', i, c[1], c[2]}
  end
end
local out = {'granted'}
local keys = {}
for i = 1, lines do
  redis.call('HINCRBY', KEYS[3 + i], 'r', qty_text)
  keys[i] = KEYS[3 + i]
  out[#out + 1] = counters[i][1]
  out[#out + 1] = counters[i][2]
end
local ttl = tonumber(ARGV[3])
local res = {m = ARGV[5], q = qty_text, at = ARGV[4], meta = ARGV[6], st = 'open', k = keys}
redis.call('SET', res_key, cjson.encode(res), 'PX', ttl + 86400000)
redis.call('ZADD', exp_key, now + ttl, res_key)
return out
`;

/**
 * Commit (ARGV[1] = actual quantity) or release (ARGV[1] = '') of a reservation.
 *
 * KEYS: expiry set, reservation. ARGV: actual quantity or '', the status to record.
 *
 * @returns `{'unknown'}` when Redis holds no such reservation (never made, settled over a day
 * ago, or lost with Redis' data); else `{settledNow (0|1), status, metric, quantity, at, meta,
 * actual}` where status is the reservation's status after the call.
 */
export const SETTLE_SCRIPT = `${PRELUDE}
local exp_key, res_key = KEYS[1], KEYS[2]
local actual = nil
if ARGV[1] ~= '' then actual = ARGV[1] end
sweep(exp_key, now_ms())
local f = settle(res_key, exp_key, ARGV[2], actual)
if not f then return {'unknown'} end
return {f.settled_now and 1 or 0, f.st, f.m, f.q, f.at, f.meta, f.a or '0'}
`;

/**
 * Loads counters rebuilt from the ledger, only where still absent (another replica may have
 * loaded them meanwhile).
 *
 * KEYS: counters. ARGV: per counter, used and expiry (ms since the epoch, 0 for none).
 *
 * @returns how many were loaded.
 */
export const LOAD_SCRIPT = `
local loaded = 0
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    redis.call('HSET', KEYS[i], 'u', ARGV[2 * i - 1], 'r', 0)
    local expire_at = tonumber(ARGV[2 * i])
    if expire_at > 0 then redis.call('PEXPIREAT', KEYS[i], expire_at) end
    loaded = loaded + 1
  end
end
return loaded
`;

/**
 * Adds ingested usage to the counters that are loaded; absent ones are rebuilt from the ledger,
 * which already holds it, when next needed.
 *
 * KEYS: counters. ARGV: per counter, the quantity to add.
 */
export const ADD_USAGE_SCRIPT = `
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('HINCRBY', KEYS[i], 'u', ARGV[i]) end
end
return #KEYS
`;
