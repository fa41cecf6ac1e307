// Bounded concurrency across processes: at most `limit` holders of a named slot set at once (e.g.
// import uploads per API key). Redis sorted set of holder -> start time; entries older than ttlMs
// are dropped, so a process that died mid-upload frees its slot after ttlMs instead of forever.
import { randomBytes } from "node:crypto";
import { config } from "./config.ts";
import { redis } from "./redis.ts";

// One round trip, atomic: drop expired holders, add this one, and keep it only within the limit.
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[3])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/** A release function when a slot was free, else null. */
export async function acquireSlot(name: string, limit: number, ttlMs: number): Promise<(() => Promise<void>) | null> {
  const key = `${config.QUEUE_PREFIX}:slots:${name}`;
  const holder = randomBytes(8).toString("hex");
  const ok = await redis().eval(ACQUIRE, 1, key, Date.now(), holder, ttlMs, limit);
  if (ok !== 1) return null;
  return async () => {
    await redis().zrem(key, holder).catch(() => undefined);
  };
}
