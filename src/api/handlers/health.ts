import type { Request, Response } from "express";
import { pingDatabase } from "../../platform/prisma.ts";
import { redis } from "../../platform/redis.ts";

export function healthz(_req: Request, res: Response) {
  res.json({ status: "ok" });
}

/** Ready when PostgreSQL (on its own health connection) and Redis both answer within 2 seconds. */
export async function readyz(_req: Request, res: Response) {
  const within = <T>(p: Promise<T>) =>
    Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error("timeout")), 2000).unref())]);
  const [pg, rd] = await Promise.allSettled([within(pingDatabase()), within(redis().ping())]);
  const checks = { database: pg.status === "fulfilled" ? "ok" : "down", redis: rd.status === "fulfilled" ? "ok" : "down" };
  const ok = checks.database === "ok" && checks.redis === "ok";
  res.status(ok ? 200 : 503).json({ status: ok ? "ready" : "unavailable", checks });
}
