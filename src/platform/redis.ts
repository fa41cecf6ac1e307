import { createHash } from "node:crypto";
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

const shas = new Map<string, string>();
/**
 * Runs a Lua script by its SHA (EVALSHA: the body is not sent and hashed on every call), loading it
 * when Redis does not know it (first use, or after a restart).
 */
export async function runScript(script: string, keys: string[], args: Array<string | number>): Promise<unknown> {
  let sha = shas.get(script);
  if (!sha) {
    sha = createHash("sha1").update(script).digest("hex");
    shas.set(script, sha);
  }
  try {
    return await redis().evalsha(sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!String((err as Error).message).startsWith("NOSCRIPT")) throw err;
    return redis().eval(script, keys.length, ...keys, ...args);
  }
}
