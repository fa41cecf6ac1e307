// The public endpoints hand each hit to a Redis stream and answer at once; the writer (writer.ts)
// stores them in batches. The stream is capped (approximately) so an absent writer cannot exhaust
// Redis memory: beyond the cap the oldest unwritten hits are dropped, and counted in a metric.
import { config } from "../../platform/config.ts";
import { logger } from "../../platform/logger.ts";
import { redis } from "../../platform/redis.ts";

export const STREAM_MAXLEN = 1_000_000;
export const streamKey = () => `${config.QUEUE_PREFIX}:engagement-hits`;

export interface Hit {
  type: "open" | "click";
  messageId: string;
  linkIndex: number | null;
  method: string;
  ip: string | null;
  ua: string | null;
  at: number;
}

let lastWarn = 0;

/** Fire and forget: never delays the response, never throws. */
export function captureHit(h: Hit): void {
  redis()
    .xadd(streamKey(), "MAXLEN", "~", String(STREAM_MAXLEN), "*",
      "t", h.type, "m", h.messageId, "i", h.linkIndex === null ? "" : String(h.linkIndex), "x", h.method,
      "ip", h.ip ?? "", "ua", (h.ua ?? "").slice(0, 512), "at", String(h.at))
    .catch((err: Error) => {
      if (Date.now() - lastWarn > 10_000) logger.warn({ err: err.message }, "engagement hit not queued (Redis)");
      lastWarn = Date.now();
    });
}

export function parseHit(fields: string[]): Hit | null {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
  if ((f.t !== "open" && f.t !== "click") || !f.m) return null;
  return {
    type: f.t, messageId: f.m, linkIndex: f.i ? Number(f.i) : null, method: f.x || "GET",
    ip: f.ip || null, ua: f.ua || null, at: Number(f.at) || Date.now(),
  };
}
