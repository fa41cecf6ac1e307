// Start-up checks that turn missing infrastructure into one clear line instead of a stack trace.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { config } from "./config.ts";
import { logger } from "./logger.ts";
import { withSessionLock } from "./sql.ts";
import { db } from "./prisma.ts";
import { redis } from "./redis.ts";
import { initSecrets } from "./secrets.ts";

export class StartupError extends Error {}

const pgHint = "start PostgreSQL (e.g. `pg_ctlcluster 15 main start`) or set DATABASE_URL";
const redisHint = "start Redis (e.g. `redis-server --daemonize yes`) or set REDIS_URL";

/** Creates the database named in DATABASE_URL when missing (development default). */
export async function ensureDatabase(): Promise<void> {
  const target = new URL(config.DATABASE_URL);
  const name = decodeURIComponent(target.pathname.slice(1));
  const probe = async (url: string) => {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    await c.connect();
    return c;
  };
  try {
    const c = await probe(config.DATABASE_URL);
    await c.end();
    return;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== "3D000" || !config.DATABASE_CREATE) {
      const why = code === "3D000" ? `database "${name}" does not exist` : (err as Error).message;
      throw new StartupError(`PostgreSQL at ${target.host} is not usable (${why}): ${pgHint}.`);
    }
  }
  const admin = new URL(config.DATABASE_URL);
  admin.pathname = "/postgres";
  const c = await probe(admin.toString()).catch((e: Error) => {
    throw new StartupError(`PostgreSQL at ${target.host} is not reachable (${e.message}): ${pgHint}.`);
  });
  try {
    await c.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } catch (err) {
    // Created concurrently by another process starting at the same time.
    const code = (err as { code?: string }).code;
    if (code !== "42P04" && code !== "23505") throw err;
  } finally {
    await c.end();
  }
}

/** A URL fit for messages and logs: the password is masked. */
export function redactUrl(u: string): string {
  try {
    const url = new URL(u);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return "(invalid URL)";
  }
}

const MIGRATION_LOCK = 0x72617070; // "rapp"

/**
 * `prisma migrate deploy` under our own session advisory lock. Prisma's own lock gives up after
 * 10 s (P1002), so replicas starting together would otherwise fail; behind this lock they wait, and
 * each finds nothing left to apply.
 */
export async function migrate(): Promise<void> {
  await withSessionLock(MIGRATION_LOCK, async (c) => {
    if (await pendingMigrations(c)) await migrateUnlocked();
  });
}

/** Whether a migration folder is not yet applied (spawning the Prisma CLI costs seconds per start). */
async function pendingMigrations(c: pg.Client): Promise<boolean> {
  const dir = resolve(dirname(fileURLToPath(import.meta.url)), "../../prisma/migrations");
  const wanted = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  try {
    const { rows } = await c.query<{ migration_name: string }>(
      "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
    );
    const applied = new Set(rows.map((r) => r.migration_name));
    return wanted.some((m) => !applied.has(m));
  } catch {
    return true; // no migrations table yet
  }
}

async function migrateUnlocked(): Promise<void> {
  const require = createRequire(import.meta.url);
  const cli = require.resolve("prisma/build/index.js");
  const out: Buffer[] = [];
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, "migrate", "deploy"], {
      env: { ...process.env, DATABASE_URL: config.DATABASE_URL, PRISMA_HIDE_UPDATE_MESSAGE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => out.push(d));
    child.on("error", reject);
    child.on("exit", (c) => resolve(c ?? 1));
  });
  if (code !== 0) throw new StartupError(`database migration failed:\n${Buffer.concat(out).toString()}`);
}

export async function checkRedis(): Promise<void> {
  try {
    await Promise.race([
      redis().ping(),
      new Promise((_, rej) => setTimeout(() => rej(new Error("timed out after 5s")), 5000).unref()),
    ]);
  } catch (err) {
    throw new StartupError(`Redis at ${redactUrl(config.REDIS_URL)} is not reachable (${(err as Error).message}): ${redisHint}.`);
  }
}

/**
 * RAPPORT_SECRET, or in development a random secret generated once and kept in the database so
 * that every process (and every restart) signs and hashes with the same key.
 */
export async function resolveSecret(): Promise<string> {
  if (config.RAPPORT_SECRET) {
    const dev = await db.setting.findUnique({ where: { key: "dev_secret" } });
    if (dev && dev.value !== config.RAPPORT_SECRET) {
      // Suppression hashes and links in sent emails were made with the generated secret.
      logger.warn("RAPPORT_SECRET differs from the secret this database was used with in development: suppressed addresses and links in emails already sent no longer match. Set RAPPORT_SECRET to the value in settings.dev_secret to keep them.");
    }
    return config.RAPPORT_SECRET;
  }
  const candidate = randomBytes(32).toString("base64url");
  // First writer wins, atomically: processes starting together all end up with the same secret.
  await db.$executeRaw`INSERT INTO settings (key, value) VALUES ('dev_secret', ${candidate}) ON CONFLICT (key) DO NOTHING`;
  const row = await db.setting.findUniqueOrThrow({ where: { key: "dev_secret" } });
  return row.value;
}

export async function bootstrapPlatform(): Promise<void> {
  await ensureDatabase();
  if (config.DATABASE_MIGRATE) await migrate();
  await checkRedis();
  initSecrets(await resolveSecret());
}
