// Raw SQL helpers for batched hot paths (Prisma costs ~1 ms per query; a page of rows is one query).
import type pg from "pg";
import { pool } from "./prisma.ts";

/** Runs fn in one transaction on one pooled connection. */
export async function withTransaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query("BEGIN");
    const out = await fn(c);
    await c.query("COMMIT");
    return out;
  } catch (err) {
    await c.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/**
 * Multi-row VALUES list: rows of equal length -> "($1,$2),($3,$4)" and the flat parameter array.
 * `casts` optionally appends a type cast per column (e.g. "::uuid").
 */
export function values(rows: unknown[][], casts: string[] = []): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const tuples = rows.map((r) => `(${r.map((v, i) => { params.push(v); return `$${params.length}${casts[i] ?? ""}`; }).join(",")})`);
  return { sql: tuples.join(","), params };
}
