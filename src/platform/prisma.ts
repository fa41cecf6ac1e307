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

export async function closeDb(): Promise<void> {
  await db.$disconnect().catch(() => undefined);
  await pool.end().catch(() => undefined);
}
