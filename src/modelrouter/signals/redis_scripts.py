"""The Redis signal backend's server-side scripts.

Each runs atomically on the server, so two instances reporting at once never
lose a failure, double a backoff or both take the last request of a minute.
``OBSERVE`` follows the transitions of ``feedback/circuit.py`` and the decay
of ``feedback/latency.py`` step for step (the backend tests run one scenario
on both and compare); ``LEASE`` hands out rpm/tpm headroom.
"""

from __future__ import annotations

__all__ = ["LEASE", "OBSERVE"]

# KEYS: circuit, ttft histogram, speed histogram, provider view, versions
# ARGV: 1 deployment, 2 now_ms, 3 error class ('' served), 4 health (1/0),
#   5 immediate (1/0), 6 reset_at_ms (0 none), 7 consecutive_failures,
#   8 error_rate_ppm, 9 min_attempts, 10 window_ms, 11 base_ms, 12 max_ms,
#   13 quota_ms, 14 auth_ms, 15 ttft bucket ('' none), 16 speed bucket,
#   17 half_life_ms, 18 rescale_after (half-lives), 19 provider fields as
#   "rr,rt,rr_reset,rt_reset,at" ('' none), 20 ttl seconds
OBSERVE = """
local now = tonumber(ARGV[2])
local class = ARGV[3]
local ttl = tonumber(ARGV[20])
local c = KEYS[1]
local function num(v) if v then return tonumber(v) else return 0 end end

local cs = redis.call('HMGET', c, 'consecutive', 'trips', 'open_until', 'reason')
local consecutive, trips, open_until = num(cs[1]), num(cs[2]), num(cs[3])
local reason = cs[4] or ''
local state = 'closed'
if trips > 0 then
  if now < open_until then state = 'open' else state = 'half_open' end
end

local function count(failed)
  local window_ms = tonumber(ARGV[10])
  local bucket_ms = math.max(math.floor(window_ms / 10), 1)
  local bucket = now - (now % bucket_ms)
  local oldest = bucket - window_ms
  local fields = redis.call('HKEYS', c)
  for _, f in ipairs(fields) do
    local at = string.match(f, '^w:(%-?%d+):')
    if at and tonumber(at) <= oldest then redis.call('HDEL', c, f) end
  end
  if failed then
    redis.call('HINCRBY', c, 'w:' .. bucket .. ':f', 1)
  else
    redis.call('HINCRBY', c, 'w:' .. bucket .. ':o', 1)
  end
  local attempts, bad = 0, 0
  local all = redis.call('HGETALL', c)
  for i = 1, #all, 2 do
    local kind = string.match(all[i], '^w:%-?%d+:(%a)$')
    if kind == 'f' then bad = bad + tonumber(all[i + 1]); attempts = attempts + tonumber(all[i + 1])
    elseif kind == 'o' then attempts = attempts + tonumber(all[i + 1]) end
  end
  return attempts, bad
end

if class == '' then
  count(false)
  if state == 'half_open' then
    consecutive, trips, open_until, reason = 0, 0, 0, ''
  else
    consecutive = 0
  end
elseif ARGV[4] == '1' then
  local attempts, bad = count(true)
  consecutive = consecutive + 1
  local tripped = state ~= 'closed' or ARGV[5] == '1'
    or consecutive >= tonumber(ARGV[7])
    or (attempts >= tonumber(ARGV[9]) and bad * 1000000 >= tonumber(ARGV[8]) * attempts)
  if tripped then
    local new_trips = trips
    if state ~= 'open' then new_trips = trips + 1 end
    local cooldown
    if class == 'quota_exhausted' then cooldown = tonumber(ARGV[13])
    elseif class == 'auth_error' then cooldown = tonumber(ARGV[14])
    else
      local k = math.min(math.max(new_trips - 1, 0), 40)
      cooldown = math.min(tonumber(ARGV[11]) * (2 ^ k), tonumber(ARGV[12]))
    end
    local deadline = math.max(now + cooldown, tonumber(ARGV[6]))
    trips = new_trips
    if deadline > open_until then
      open_until = deadline
      reason = class
    end
  end
end
redis.call('HSET', c, 'consecutive', consecutive, 'trips', trips,
  'open_until', string.format('%d', open_until), 'reason', reason)
redis.call('EXPIRE', c, ttl)

local function add(key, bucket)
  if bucket == '' then return end
  local hl = tonumber(ARGV[17])
  local landmark = tonumber(redis.call('HGET', key, 'landmark') or '')
  if landmark == nil or redis.call('HLEN', key) <= 1 then
    redis.call('DEL', key)
    landmark = now
    redis.call('HSET', key, 'landmark', string.format('%d', now))
  elseif (now - landmark) / hl > tonumber(ARGV[18]) then
    local factor = 2 ^ ((landmark - now) / hl)
    local all = redis.call('HGETALL', key)
    for i = 1, #all, 2 do
      if all[i] ~= 'landmark' then
        local w = tonumber(all[i + 1]) * factor
        if w > 1e-12 then
          redis.call('HSET', key, all[i], string.format('%.17g', w))
        else
          redis.call('HDEL', key, all[i])
        end
      end
    end
    landmark = now
    redis.call('HSET', key, 'landmark', string.format('%d', now))
  end
  redis.call('HINCRBYFLOAT', key, bucket, string.format('%.17g', 2 ^ ((now - landmark) / hl)))
  redis.call('EXPIRE', key, ttl)
end
add(KEYS[2], ARGV[15])
add(KEYS[3], ARGV[16])

if ARGV[19] ~= '' then
  local rr, rt, rrr, rtr, at = string.match(ARGV[19], '^([^,]*),([^,]*),([^,]*),([^,]*),([^,]*)$')
  redis.call('DEL', KEYS[4])
  redis.call('HSET', KEYS[4], 'rr', rr, 'rt', rt, 'rr_reset', rrr, 'rt_reset', rtr, 'at', at)
  redis.call('EXPIRE', KEYS[4], ttl)
end
redis.call('HINCRBY', KEYS[5], ARGV[1], 1)
return 1
"""

# KEYS: requests per second, tokens per second, provider view
# ARGV: 1 now_s, 2 rpm (0 none), 3 tpm (0 none), 4 want requests, 5 want tokens,
#   6 returned requests, 7 returned tokens, 8 second of the returned lease,
#   9 now_ms, 10 ttl seconds
# Returns: granted requests, granted tokens, requests used, tokens used (both
# including the grant), and the second at which the oldest counted one leaves.
LEASE = """
local now_s = tonumber(ARGV[1])
local start = now_s - 60
local ttl = tonumber(ARGV[10])
local back_s = tonumber(ARGV[8])

local function used(key, returned)
  if returned > 0 and back_s >= start then
    local held = tonumber(redis.call('HGET', key, tostring(back_s)) or '0')
    redis.call('HSET', key, tostring(back_s), math.max(held - returned, 0))
  end
  local total, oldest = 0, nil
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local second = tonumber(all[i])
    if second < start then
      redis.call('HDEL', key, all[i])
    else
      local n = tonumber(all[i + 1])
      total = total + n
      if n > 0 and (oldest == nil or second < oldest) then oldest = second end
    end
  end
  return total, oldest
end

local used_r, oldest_r = used(KEYS[1], tonumber(ARGV[6]))
local used_t, oldest_t = used(KEYS[2], tonumber(ARGV[7]))
local rpm, tpm = tonumber(ARGV[2]), tonumber(ARGV[3])
local want_r, want_t = tonumber(ARGV[4]), tonumber(ARGV[5])
local grant_r, grant_t = want_r, want_t
if rpm > 0 then grant_r = math.max(math.min(want_r, rpm - used_r), 0) else grant_r = 0 end
if tpm > 0 then grant_t = math.max(math.min(want_t, tpm - used_t), 0) else grant_t = 0 end

local now_ms = tonumber(ARGV[9])
local pv = redis.call('HMGET', KEYS[3], 'rr', 'rt', 'rr_reset', 'rt_reset')
if pv[1] and pv[1] ~= '' and now_ms < tonumber(pv[3]) and rpm > 0 then
  grant_r = math.max(math.min(grant_r, tonumber(pv[1])), 0)
  redis.call('HSET', KEYS[3], 'rr', tonumber(pv[1]) - grant_r + tonumber(ARGV[6]))
end
if pv[2] and pv[2] ~= '' and now_ms < tonumber(pv[4]) and tpm > 0 then
  grant_t = math.max(math.min(grant_t, tonumber(pv[2])), 0)
  redis.call('HSET', KEYS[3], 'rt', tonumber(pv[2]) - grant_t + tonumber(ARGV[7]))
end

if grant_r > 0 then redis.call('HINCRBY', KEYS[1], tostring(now_s), grant_r) end
if grant_t > 0 then redis.call('HINCRBY', KEYS[2], tostring(now_s), grant_t) end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
if grant_r > 0 and (oldest_r == nil or now_s < oldest_r) then oldest_r = now_s end
if grant_t > 0 and (oldest_t == nil or now_s < oldest_t) then oldest_t = now_s end
local oldest = oldest_r
if oldest == nil or (oldest_t ~= nil and oldest_t < oldest) then oldest = oldest_t end
if oldest == nil then oldest = now_s - 61 end
return {grant_r, grant_t, used_r + grant_r, used_t + grant_t, oldest + 61}
"""
