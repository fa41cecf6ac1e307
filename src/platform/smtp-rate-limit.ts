// Messages per second per SMTP transport, shared by every worker process through Redis (GCRA with
// reservations): a batch reserves slots in one round trip and learns when each message may go. The
// sender paces the hand-off message by message, so a burst never exceeds a tenth of a second's worth
// of messages (at least one), whatever the batch size.
import { config } from "./config.ts";
import { runScript } from "./redis.ts";

// KEYS[1]: theoretical arrival time (ms) of the next free slot. ARGV: interval ms, n, burst ms,
// max wait ms. Grants only the slots due within the max wait: a slot that is not granted is not
// kept either, so a batch that has to come back later does not push everyone else further out.
// Uses Redis' clock so that every process agrees on "now". Returns {granted, start offset ms}.
// The horizon is stored with fixed decimals: tostring() keeps 14 digits, which on a millisecond
// timestamp rounds away the 0.01 ms intervals of high rates (the limit would stop counting).
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local maxWait = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local k = math.floor((maxWait + burst - (tat - now)) / interval)
if k > n then k = n end
if k < 0 then k = 0 end
if k > 0 then
  local newTat = tat + k * interval
  redis.call('SET', KEYS[1], string.format('%.3f', newTat), 'PX', math.ceil(newTat - now + 60000))
end
return {k, string.format('%.3f', tat - now)}
`;

/** The Redis key of this transport's bucket (exported for tests and operators). */
export function transportKey(): string {
  // Per transport: one bucket per SMTP host and port (the provider's limit is per account/endpoint).
  let target = "dev";
  if (config.SMTP_URL) {
    const u = new URL(config.SMTP_URL);
    target = `${u.hostname}_${u.port || "25"}`;
  }
  return `${config.QUEUE_PREFIX}:smtp-rate:${target}`;
}

export interface Reservation {
  /** How many of the requested messages got a slot (the first `granted`). */
  granted: number;
  /** Milliseconds from now until message i (0-based, i < granted) may be handed to SMTP. */
  dueIn(i: number): number;
  /** Milliseconds until the first message without a slot would be due: come back then. */
  retryIn: number;
}

/** A bucket: its Redis key and its rate. The transport's by default; campaigns have their own. */
export interface Bucket {
  key: string;
  /** Milliseconds between two sends. */
  intervalMs: number;
}

const transportBucket = (): Bucket => ({ key: transportKey(), intervalMs: 1000 / config.SMTP_RATE_PER_SECOND });

/** The Redis key of a campaign's own bucket (its rateLimitPerMinute, inside the transport's rate). */
export const campaignKey = (campaignId: string) => `${config.QUEUE_PREFIX}:campaign-rate:${campaignId}`;
export const campaignBucket = (campaignId: string, perMinute: number): Bucket => ({ key: campaignKey(campaignId), intervalMs: 60_000 / perMinute });

/**
 * All campaigns together take at most (1 - SMTP_TRANSACTIONAL_RESERVE) of the transport's rate: the
 * rest is kept for transactional mail and the send API, whose messages then never queue behind a
 * campaign's backlog in the transport's bucket.
 */
export const campaignLaneBucket = (): Bucket => ({
  key: `${transportKey()}:campaigns`,
  intervalMs: 1000 / (config.SMTP_RATE_PER_SECOND * (1 - config.SMTP_TRANSACTIONAL_RESERVE)),
});

/** Reserves up to n sends in the bucket (default: the SMTP transport's), only those due within maxWaitMs. */
export async function reserveSends(n: number, maxWaitMs: number, bucket: Bucket = transportBucket()): Promise<Reservation> {
  const interval = bucket.intervalMs;
  const burst = Math.max(100, interval);
  if (n <= 0) return { granted: 0, dueIn: () => 0, retryIn: 0 };
  const [granted, start] = (await runScript(RESERVE, [bucket.key], [interval, n, burst, maxWaitMs])) as [number, string];
  const offset = Number(start) || 0;
  const due = (i: number) => Math.max(0, Math.ceil(offset + (i + 1) * interval - burst));
  return { granted: Number(granted), dueIn: due, retryIn: Math.max(due(Number(granted)), 100) };
}
