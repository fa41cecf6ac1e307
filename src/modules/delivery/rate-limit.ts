// Messages per second per SMTP transport, shared by every worker process through Redis (GCRA with
// reservations): a batch reserves n slots in one round trip and learns how long to wait before
// sending them. Bursts are bounded by a tenth of a second's worth of messages (at least one batch).
import { config } from "../../platform/config.ts";
import { redis } from "../../platform/redis.ts";

// KEYS[1]: theoretical arrival time (ms) of the next free slot. ARGV: interval ms, n, burst ms.
// Uses Redis' clock so that every process agrees on "now".
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local newTat = tat + n * interval
redis.call('SET', KEYS[1], tostring(newTat), 'PX', math.ceil(newTat - now + 60000))
local wait = newTat - burst - now
if wait < 0 then wait = 0 end
return math.ceil(wait)
`;

function transportKey(): string {
  // Per transport: one bucket per SMTP host and port (the provider's limit is per account/endpoint).
  let target = "dev";
  if (config.SMTP_URL) {
    const u = new URL(config.SMTP_URL);
    target = `${u.hostname}_${u.port || "25"}`;
  }
  return `${config.QUEUE_PREFIX}:smtp-rate:${target}`;
}

/** Reserves n sends; resolves with the milliseconds to wait before handing them to SMTP. */
export async function reserveSends(n: number): Promise<number> {
  if (n <= 0) return 0;
  const rate = config.SMTP_RATE_PER_SECOND;
  const interval = 1000 / rate;
  const burstMs = Math.max(100, config.SEND_BATCH_SIZE * interval);
  const wait = await redis().eval(RESERVE, 1, transportKey(), String(interval), String(n), String(burstMs));
  return Number(wait) || 0;
}
