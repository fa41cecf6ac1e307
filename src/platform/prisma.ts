import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../generated/prisma/client.ts";
import { config } from "./config.ts";
import { logger } from "./logger.ts";

export type { Prisma } from "../generated/prisma/client.ts";
export type Db = PrismaClient;
export type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

// One pg pool per process, shared by Prisma (through the adapter) and by hot paths that use raw SQL
// for batches (COPY-like multi-row inserts, keyset scans joined with consent).
export const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_SIZE });
pool.on("error", () => {
  /* idle client errors are reported by the next query; do not crash the process */
});
// A connection checked out of the pool (a transaction, Prisma's interactive transactions) has no
// listener of the pool's: when the server ends it (restart, pg_terminate_backend) between two queries,
// its 'error' event would be unhandled and end the process, taking with it what that process held in
// memory (outcomes of messages SMTP already accepted: re-sent after the claim timeout). The error
// reaches the query that uses the connection next, and the pool discards a connection in that state.
pool.on("connect", (client) => {
  client.on("error", (err) => logger.warn({ err: err.message, code: (err as { code?: string }).code }, "database connection lost"));
});

export const db: PrismaClient = new PrismaClient({ adapter: new PrismaPg(pool) });

// Readiness asks PostgreSQL on a connection of its own: through the shared pool, a busy moment (every
// connection taken by batches) read as "database down" after the probe's 2 s.
const healthPool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 1, connectionTimeoutMillis: 2000 });
healthPool.on("error", () => undefined);

/** Resolves when PostgreSQL answers a trivial query on the health connection. */
export const pingDatabase = () => healthPool.query("SELECT 1").then(() => undefined);

export async function closeDb(): Promise<void> {
  await db.$disconnect().catch(() => undefined);
  await pool.end().catch(() => undefined);
  await healthPool.end().catch(() => undefined);
}
