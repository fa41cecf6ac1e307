import { Redis } from "ioredis";
import { config } from "./config.ts";
import { logger } from "./logger.ts";

/** A new connection. BullMQ workers need maxRetriesPerRequest: null (blocking commands). */
export function createRedis(opts: { blocking?: boolean } = {}): Redis {
  const r = new Redis(config.REDIS_URL, {
    maxRetriesPerRequest: opts.blocking ? null : 3,
    enableReadyCheck: true,
    lazyConnect: false,
  });
  // ioredis reconnects by itself; without a listener it prints every failed attempt to stderr.
  let last = 0;
  r.on("error", (err: Error) => {
    if (Date.now() - last > 10_000) logger.warn({ err: err.message }, "redis connection error (retrying)");
    last = Date.now();
  });
  return r;
}

let shared: Redis | null = null;
/** Shared non-blocking connection for commands (rate limits, locks, readiness). */
export function redis(): Redis {
  shared ??= createRedis();
  return shared;
}

export async function closeRedis(): Promise<void> {
  if (shared) await shared.quit().catch(() => undefined);
  shared = null;
}
