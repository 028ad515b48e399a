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
 * - `{T}:rl:<key>:<windowStartMs>`: one rate-limit window of one key (an API key id), a hash of
 *   `r` (requests) and `t` (tokens) counted in it. Unlike counters these are not rebuilt: a
 *   window Redis lost starts again from zero (rate limits protect capacity, not contracts). It
 *   expires one window after it ends (replicas' clocks may disagree a little about which window
 *   is current).
 * - `{T}:exp`: the open reservations, scored by expiry (ms). A member is the reservation id,
 *   which carries everything needed to settle it (see quota-keys.ts): `qr_<tenant>.<metric>.
 *   <occurredAtMs>.<eventId>.<quantity>[.<kind>:<periodStartMs>,…][.rl=<key>:<windowStartMs>:
 *   <tokens>]`. So a reservation costs one sorted-set entry and nothing else.
 * - `{T}:s:<eventId>`: a settled reservation's outcome, `<status>|<actual>`, kept a day so that
 *   a retried commit or release answers the same.
 *
 * A settling reservation's counter and window keys are rebuilt from its id (same hash slot, so
 * valid in Redis Cluster too). Quantities are integers, passed and stored as decimal strings (Lua
 * turns numbers into text with 14 significant digits); comparisons use doubles, exact up to 2^53.
 */

/** Shared helpers, prepended to the settling scripts. */
const PRELUDE = `
local function split(text, sep)
  local out = {}
  for part in string.gmatch(text, '[^' .. sep .. ']+') do out[#out + 1] = part end
  return out
end

-- Settles an open reservation (a member of exp_key): released or expired (actual = nil), or
-- committed (the actual quantity becomes used). Returns true when it was open.
local function settle(exp_key, id, status, actual)
  if redis.call('ZREM', exp_key, id) == 0 then return false end
  local base = string.sub(exp_key, 1, -4)
  local f = split(id, '.')
  local metric, event, qty = f[2], f[4], f[5]
  for s = 6, #f do
    if string.sub(f[s], 1, 3) == 'rl=' then
      -- Its rate-limit window counted the estimated tokens: true it up to the actual ones
      -- (none when released). An expired hold keeps its estimate: nobody said what was used.
      local w = split(string.sub(f[s], 4), ':')
      local wk = base .. 'rl:' .. w[1] .. ':' .. w[2]
      if status ~= 'expired' and redis.call('EXISTS', wk) == 1 then
        local delta = (tonumber(actual) or 0) - tonumber(w[3])
        if delta ~= 0 then redis.call('HINCRBY', wk, 't', string.format('%.0f', delta)) end
      end
    else
      for _, line in ipairs(split(f[s], ',')) do
        local ck = base .. 'c:' .. metric .. ':' .. line
        if redis.call('EXISTS', ck) == 1 then
          redis.call('HINCRBY', ck, 'r', '-' .. qty)
          if actual then redis.call('HINCRBY', ck, 'u', actual) end
        end
      end
    end
  end
  redis.call('SET', base .. 's:' .. event, status .. '|' .. (actual or '0'), 'PX', 86400000)
  return true
end

-- Commit (actual) or release (actual = nil) of one reservation, as SETTLE_SCRIPT answers it.
local function settle_reply(exp_key, id, status, actual, now)
  local score = redis.call('ZSCORE', exp_key, id)
  if score and tonumber(score) <= now then settle(exp_key, id, 'expired', nil) end
  if settle(exp_key, id, status, actual) then return {1, status, actual or '0'} end
  local outcome_key = string.sub(exp_key, 1, -4) .. 's:' .. split(id, '.')[4]
  local outcome = redis.call('GET', outcome_key)
  if not outcome then return {'unknown'} end
  local parts = split(outcome, '|')
  if parts[1] == 'expired' and actual then
    -- The first commit after expiry: its quantity is recorded (late) and answers every retry.
    redis.call('SET', outcome_key, 'late|' .. actual, 'PX', 86400000)
  end
  return {0, parts[1], parts[2]}
end
`;

/**
 * Check-and-reserve of a batch of reservations of one tenant, each across every quota line
 * covering its metric and its key's rate-limit window, in order: each is decided against the
 * counters and windows as the ones before it left them, so the batch is exactly as if each had
 * run alone, one after the other. Quota lines are checked first (their refusal lasts longer, so
 * it is the more useful answer), then requests per minute, then tokens per minute; a refused
 * item holds and counts nothing.
 *
 * KEYS: plan token, expiry set, then the counters the batch touches, then its rate-limit windows.
 * ARGV: plan token, now (ms), group count, window count, then per group (the lines of one
 * metric): line count, then per line counter index (1-based into the counters), limit,
 * enforcement (`hard` | `soft`); then per window the instant it expires (ms); then per item:
 * group index (1-based), reservation id, quantity, expiry (ms), window index (1-based, 0 for
 * none), requests-per-minute limit and tokens-per-minute limit (0 for none), requests and
 * tokens to count.
 *
 * @returns `{'stale'}` when the plan token differs; `{'load', i…}` with the indexes of counters
 * not loaded yet (nothing is reserved then); else `{'done', …}` with, per item, `1` or `0`
 * (granted, refused), what refused it (0 when granted; a line's position; -1 requests per
 * minute, -2 tokens per minute), the window's requests and tokens before the item (0 without
 * one), then per line its used and reserved before the item (integer replies, exact up to 2^53).
 */
export const RESERVE_SCRIPT = `${PRELUDE}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'stale'} end
-- Overdue holds of the tenant expire first (bounded work per run).
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'LIMIT', 0, 256)) do
  settle(KEYS[2], id, 'expired', nil)
end
local windows = tonumber(ARGV[4])
local counters = #KEYS - 2 - windows
local used, reserved = {}, {}
local missing = {'load'}
for c = 1, counters do
  local v = redis.call('HMGET', KEYS[2 + c], 'u', 'r')
  if not v[1] then missing[#missing + 1] = c end
  -- A level below zero (more removals reported than additions) counts as zero.
  used[c], reserved[c] = math.max(tonumber(v[1]) or 0, 0), tonumber(v[2])
end
if #missing > 1 then return missing end
local added = {}
for c = 1, counters do added[c] = 0 end
local groups = {}
local a = 5
for g = 1, tonumber(ARGV[3]) do
  local lines = {}
  for l = 1, tonumber(ARGV[a]) do
    lines[l] = {tonumber(ARGV[a + 3 * l - 2]), tonumber(ARGV[a + 3 * l - 1]), ARGV[a + 3 * l] == 'hard'}
  end
  a = a + 1 + 3 * #lines
  groups[g] = lines
end
-- A window's counts; below zero (a true-up against a window Redis lost and began again) is zero.
local win_r, win_t, win_expire, win_added = {}, {}, {}, {}
for w = 1, windows do
  local v = redis.call('HMGET', KEYS[2 + counters + w], 'r', 't')
  win_r[w], win_t[w] = math.max(tonumber(v[1]) or 0, 0), math.max(tonumber(v[2]) or 0, 0)
  win_expire[w], win_added[w] = ARGV[a], false
  a = a + 1
end
local out = {'done'}
local members = {}
while a <= #ARGV do
  local lines, id, qty, expires = groups[tonumber(ARGV[a])], ARGV[a + 1], tonumber(ARGV[a + 2]), ARGV[a + 3]
  local w, rpm, tpm = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
  local requests, tokens = tonumber(ARGV[a + 7]), tonumber(ARGV[a + 8])
  a = a + 9
  local refused = 0
  for l, line in ipairs(lines) do
    local c = line[1]
    if refused == 0 and line[3] and used[c] + reserved[c] + qty > line[2] then refused = l end
  end
  local wr, wt = 0, 0
  if w > 0 then
    wr, wt = win_r[w], win_t[w]
    if refused == 0 and rpm > 0 and wr + requests > rpm then refused = -1 end
    if refused == 0 and tpm > 0 and wt + tokens > tpm then refused = -2 end
  end
  out[#out + 1] = refused == 0 and 1 or 0
  out[#out + 1] = refused
  out[#out + 1] = wr
  out[#out + 1] = wt
  for _, line in ipairs(lines) do
    local c = line[1]
    out[#out + 1] = used[c]
    out[#out + 1] = reserved[c]
    if refused == 0 then
      reserved[c] = reserved[c] + qty
      added[c] = added[c] + qty
    end
  end
  if refused == 0 then
    members[#members + 1] = expires
    members[#members + 1] = id
    if w > 0 then
      win_r[w], win_t[w], win_added[w] = wr + requests, wt + tokens, true
    end
  end
end
for c = 1, counters do
  if added[c] > 0 then redis.call('HINCRBY', KEYS[2 + c], 'r', string.format('%.0f', added[c])) end
end
for w = 1, windows do
  if win_added[w] then
    local wk = KEYS[2 + counters + w]
    -- Written whole (not incremented): the counts read above, clamped, plus this batch's.
    redis.call('HSET', wk, 'r', string.format('%.0f', win_r[w]), 't', string.format('%.0f', win_t[w]))
    redis.call('PEXPIREAT', wk, win_expire[w])
  end
end
if #members > 0 then redis.call('ZADD', KEYS[2], unpack(members)) end
return out
`;

/**
 * Commit (ARGV[1] = actual quantity) or release (ARGV[1] = '') of a reservation.
 *
 * KEYS: expiry set. ARGV: actual quantity or '', the status to record, the reservation id, now
 * (ms; an overdue reservation expires first).
 *
 * @returns `{1, status, actual}` when settled now; `{0, status, actual}` when it was settled
 * before (status committed | released | expired | late: committed after it expired, with the
 * first such commit's quantity); `{'unknown'}` when Redis holds no trace of it (never made,
 * settled over a day ago, or lost with Redis' data).
 */
export const SETTLE_SCRIPT = `${PRELUDE}
local actual = nil
if ARGV[1] ~= '' then actual = ARGV[1] end
return settle_reply(KEYS[1], ARGV[3], ARGV[2], actual, tonumber(ARGV[4]))
`;

/**
 * Commits of several reservations of one tenant in one round trip, each exactly as
 * {@link SETTLE_SCRIPT} would commit it alone, in order.
 *
 * KEYS: expiry set. ARGV: now (ms), then per item the actual quantity and the reservation id.
 *
 * @returns per item three values: SETTLE_SCRIPT's answer, `{'unknown', '', ''}` padded
 */
export const COMMIT_MANY_SCRIPT = `${PRELUDE}
local out = {}
local now = tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  local r = settle_reply(KEYS[1], ARGV[i + 1], 'committed', ARGV[i], now)
  out[#out + 1] = r[1]
  out[#out + 1] = r[2] or ''
  out[#out + 1] = r[3] or ''
end
return out
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
 * which already holds it, when next needed. Saturates at 2^63 − 1 instead of failing.
 *
 * KEYS: counters. ARGV: per counter, the quantity to add.
 *
 * @returns per counter 1 when it was raised, 0 when absent (so the caller can undo exactly)
 */
export const ADD_USAGE_SCRIPT = `
local raised = {}
for i = 1, #KEYS do
  raised[i] = 0
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local result = redis.pcall('HINCRBY', KEYS[i], 'u', ARGV[i])
    if type(result) == 'table' and result.err then
      redis.call('HSET', KEYS[i], 'u', string.sub(ARGV[i], 1, 1) == '-' and '0' or '9223372036854775807')
    end
    raised[i] = 1
  end
end
return raised
`;
