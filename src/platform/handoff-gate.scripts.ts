// The Lua scripts of the hand-off gate (handoff-gate.ts); each runs atomically in Redis.
// Times come from Redis' clock (TIME), so that every process agrees on leases.

// The generation ("random.createdMs") names Redis' current memory: a reset (restart with nothing
// kept) loses marks and registrations, and a new generation tells everyone so.
export const GEN = `
local g = redis.call('GET', KEYS[1])
if not g then
  local t = redis.call('TIME')
  g = ARGV[1] .. '.' .. (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
  redis.call('SET', KEYS[1], g)
end
return g`;

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// Admits a group of hand-offs (those asking within one turn of the event loop) in one round trip,
// and unregisters finished ones on the way. KEYS: gen, then per subject its stop keys and run keys,
// then the run keys of finished members. ARGV: epoch, lease ms, N, then per subject (member, number
// of stop keys, number of run keys), then the finished members, one per trailing key.
// Returns one code per subject: 0 admitted, 1 stopped, 2 stale (the consent read was made under
// another generation). Each subject is checked and registered atomically, as one call per message was.
export const ADMIT = `
local k = 2
local a = 4
local codes = {}
local fresh = redis.call('GET', KEYS[1]) == ARGV[1]
${NOW}
local lease = tonumber(ARGV[2])
for s = 1, tonumber(ARGV[3]) do
  local member, ns, nr = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  a = a + 3
  if not fresh then codes[s] = 2
  elseif redis.call('EXISTS', unpack(KEYS, k, k + ns - 1)) > 0 then codes[s] = 1
  else
    for i = k + ns, k + ns + nr - 1 do
      redis.call('ZADD', KEYS[i], now + lease, member)
      redis.call('PEXPIRE', KEYS[i], lease)
    end
    codes[s] = 0
  end
  k = k + ns + nr
end
for i = k, #KEYS do
  redis.call('ZREM', KEYS[i], ARGV[a])
  a = a + 1
end
return codes`;

// KEYS: run keys; ARGV: one member per key.
export const UNREGISTER = `for i = 1, #KEYS do redis.call('ZREM', KEYS[i], ARGV[i]) end
return 0`;

// KEYS: gen, stop key, run key. ARGV: fresh generation seed, ttl ms (0: until lifted), mark value.
// Every stop writes a value of its own (keeping the longer life), so that a lift that read an older
// mark cannot remove it (liftStopIf). Returns {generation, now, members in flight}.
export const STOP = `
${GEN.replace("return g", "")}
local ttl = tonumber(ARGV[2])
local left = redis.call('PTTL', KEYS[2])
if ttl == 0 or left == -1 then redis.call('SET', KEYS[2], ARGV[3])
elseif left < ttl then redis.call('SET', KEYS[2], ARGV[3], 'PX', ttl)
else redis.call('SET', KEYS[2], ARGV[3], 'PX', left) end
${NOW}
return {g, now, redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. now, '+inf')}`;

// KEYS: gen, run key. ARGV: generation, members. -1 when the generation changed, else how many of
// the members are still in flight.
export const PENDING = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
${NOW}
local n = 0
for i = 2, #ARGV do
  local s = redis.call('ZSCORE', KEYS[2], ARGV[i])
  if s and tonumber(s) > now then n = n + 1 end
end
return n`;

// KEYS: gen, then run keys. ARGV: known generation, lease ms, then for each run key its member.
// Re-registers this process's hand-offs in flight when the generation changed (Redis was reset).
export const REREGISTER = `
local g = redis.call('GET', KEYS[1])
if g == ARGV[1] then return g end
if not g then return false end
${NOW}
local lease = tonumber(ARGV[2])
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], now + lease, ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i], lease)
end
return g`;

export const LIFT_IF = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;
