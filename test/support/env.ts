// Per test file, before any application module loads: its own queue prefix and its own SMTP sink,
// the shared test database, and fixed test secrets.
import { randomBytes } from "node:crypto";
import type { Server } from "node:net";
import { afterAll } from "vitest";
import { SmtpSink } from "./smtp-sink.ts";
import { holdPort } from "./wait.ts";

export const sink = await new SmtpSink().start();
// The file's port, bound now and held until the harness's server takes the socket over, so that
// links in emails (RAPPORT_PUBLIC_URL) point at it. Released and bound again later, a port could
// be taken in between as the local port of some connection (EADDRINUSE in CI, stop 21).
let held: Server | null = await holdPort();
const port = (held.address() as { port: number }).port;

/** Where the harness's server listens: the held socket the first time (it takes it over), the port after. */
export function serverPort(): Server | number {
  const at = held ?? port;
  held = null;
  return at;
}
export const ADMIN_KEY = "test-admin-key-0123456789abcdef";

Object.assign(process.env, {
  NODE_ENV: "test",
  DATABASE_URL: process.env.RAPPORT_TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/rapport_test",
  DATABASE_MIGRATE: "false",
  DATABASE_POOL_SIZE: "5",
  REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  QUEUE_PREFIX: `t${randomBytes(6).toString("hex")}`,
  SMTP_URL: sink.url,
  RAPPORT_SECRET: "test-secret-that-is-long-enough-0123456789",
  RAPPORT_ADMIN_KEY: ADMIN_KEY,
  PORT: String(port),
  HOST: "127.0.0.1",
  RAPPORT_PUBLIC_URL: `http://127.0.0.1:${port}`,
  LOG_LEVEL: process.env.LOG_LEVEL ?? "error",
  // Test files share one database but not their queues: a short window would let one file's sweep
  // enqueue (and deliver) another file's rows. Files that test the sweep set their own.
  SEND_SWEEP_QUEUED_AFTER_MS: "120000",
  // Batches built in a build thread whatever the machine's cores (the default on a single core is 0).
  DELIVERY_BUILD_THREADS: process.env.DELIVERY_BUILD_THREADS ?? "1",
});

/**
 * For a file that runs the delivery sweep with short windows: its own copy of the migrated test
 * database (made by global-setup.ts). Call before the application modules load.
 */
export function useIsolatedDatabase(key: "sweep_delivery" | "sweep_pacing" | "webhooks" | "console"): void {
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname += `_${key}`;
  process.env.DATABASE_URL = url.toString();
}

afterAll(async () => {
  await sink.close();
  const unused = held;
  if (unused) await new Promise((r) => unused.close(r));
});
