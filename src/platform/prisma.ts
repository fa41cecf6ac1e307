import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../generated/prisma/client.ts";
import { config } from "./config.ts";

export type { Prisma } from "../generated/prisma/client.ts";
export type Db = PrismaClient;
export type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

// One pg pool per process, shared by Prisma (through the adapter) and by hot paths that use raw SQL
// for batches (COPY-like multi-row inserts, keyset scans joined with consent).
export const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_SIZE });
pool.on("error", () => {
  /* idle client errors are reported by the next query; do not crash the process */
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
