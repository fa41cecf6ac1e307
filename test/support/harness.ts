// Boots the real engine in the test process: Express app on the file's port, BullMQ workers on the
// file's queue prefix, real PostgreSQL, Redis and the file's SMTP sink.
import type { Server } from "node:http";
import { randomBytes } from "node:crypto";
import { lateBound } from "./late-bound.ts";
import { createApp } from "../../src/api/app.ts";
import { listen, serverLimits, type ServerLimits } from "../../src/api/server.ts";
import { config } from "../../src/platform/config.ts";
import { initSecrets } from "../../src/platform/secrets.ts";
import { closeDb, db, pool } from "../../src/platform/prisma.ts";
import { closeQueues } from "../../src/platform/queues.ts";
import { closeRedis, redis } from "../../src/platform/redis.ts";
import { closeMailer } from "../../src/platform/mailer.ts";
import { closeTemplatePool } from "../../src/templates/pool.ts";
import { closeBuildThreads, warmBuildThreads } from "../../src/modules/delivery/build-threads.ts";
import { startWorkers, type RunningWorkers } from "../../src/workers/index.ts";
import { ADMIN_KEY, serverPort, sink } from "./env.ts";

export { lateBound };

export { ADMIN_KEY, sink, db, pool };

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface Harness {
  baseUrl: string;
  /** JSON request; `key` defaults to the admin key, pass null for none. */
  api<T = any>(method: string, path: string, body?: unknown, opts?: { key?: string | null; headers?: Record<string, string>; raw?: string }): Promise<ApiResponse<T>>;
  /** Creates an API key with the role and returns the secret. */
  keyFor(role: "admin" | "marketer" | "developer"): Promise<string>;
  stopWorkers(): Promise<void>;
  startWorkers(): void;
  close(): Promise<void>;
}

/** Short random suffix so each test owns its rows. */
export const rid = (p = "") => `${p}${randomBytes(5).toString("hex")}`;
export const email = (p = "c") => `${p}-${randomBytes(6).toString("hex")}@Example.COM`;

/** `limits`: server limits over the configured ones (e.g. short timeouts for slow-client tests). */
export async function startHarness(opts: { workers?: boolean; limits?: Partial<ServerLimits> } = {}): Promise<Harness> {
  initSecrets(config.RAPPORT_SECRET!);
  const server: Server = await listen(createApp(), serverPort(), "127.0.0.1", { ...serverLimits(), ...opts.limits });
  const baseUrl = `http://127.0.0.1:${config.PORT}`;
  if (opts.workers !== false) await warmBuildThreads();
  let workers: RunningWorkers | null = opts.workers === false ? null : startWorkers();

  const api: Harness["api"] = async (method, path, body, o = {}) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    const key = o.key === undefined ? ADMIN_KEY : o.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let payload: string | undefined = o.raw;
    if (body !== undefined && payload === undefined) {
      payload = JSON.stringify(body);
      headers["content-type"] ??= "application/json";
    }
    const res = await fetch(baseUrl + path, { method, headers, body: payload, redirect: "manual" });
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };

  return {
    baseUrl,
    api,
    async keyFor(role) {
      const r = await api("POST", "/v1/api-keys", { name: rid(`${role}-`), role });
      if (r.status !== 201) throw new Error(`could not create key: ${r.text}`);
      return r.body.key as string;
    },
    async stopWorkers() {
      await workers?.close();
      workers = null;
    },
    startWorkers() {
      workers ??= startWorkers();
    },
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
      await workers?.close();
      await closeTemplatePool();
      await closeBuildThreads();
      closeMailer();
      await closeQueues();
      // This file's BullMQ keys (and rate-limit buckets) live under its own prefix: leave Redis clean.
      const r = redis();
      let cursor = "0";
      do {
        const [next, keys] = await r.scan(cursor, "MATCH", `${config.QUEUE_PREFIX}:*`, "COUNT", 1000);
        if (keys.length) await r.unlink(...keys);
        cursor = next;
      } while (cursor !== "0");
      await closeRedis();
      await closeDb();
    },
  };
}

/** This file's harness, started before its tests and closed after them. */
export const useHarness = (opts: Parameters<typeof startHarness>[0] = {}): Harness => lateBound(() => startHarness(opts), (h) => h.close(), "the harness");
