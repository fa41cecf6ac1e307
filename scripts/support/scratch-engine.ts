// The engine (HTTP only) on a throw-away database, for scripts and benchmarks: configuration is set
// before any application module loads, the database is re-created and migrated, and the app listens
// on a free loopback port.
import type { Server } from "node:http";
import { recreateDatabase } from "./scratch-db.ts";

export const SCRATCH_ADMIN_KEY = "scratch-admin-key-0123456789abcdef";

export async function startScratchEngine(url: string, prefix: string) {
  Object.assign(process.env, {
    DATABASE_URL: url, DATABASE_POOL_SIZE: "8", LOG_LEVEL: "error", NODE_ENV: "test", PORT: "0", RAPPORT_ADMIN_KEY: SCRATCH_ADMIN_KEY,
    RAPPORT_SECRET: "scratch-secret-that-is-long-enough-0123456789", QUEUE_PREFIX: `${prefix}${process.pid}`, SMTP_URL: "smtp://127.0.0.1:1",
  });
  await recreateDatabase(url);
  const { initSecrets } = await import("../../src/platform/secrets.ts");
  initSecrets(process.env.RAPPORT_SECRET!);
  const { pool, closeDb } = await import("../../src/platform/prisma.ts");
  const { closeRedis } = await import("../../src/platform/redis.ts");
  const { createApp } = await import("../../src/api/app.ts");
  const server: Server = createApp().listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  return {
    pool,
    base: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    async close() {
      await new Promise((r) => server.close(r));
      await closeRedis();
      await closeDb();
    },
  };
}
