// Raw SQL helpers for batched hot paths (Prisma costs ~1 ms per query; a page of rows is one query).
import pg from "pg";
import { config } from "./config.ts";
import { pool } from "./prisma.ts";

const afterCommit = new WeakMap<pg.PoolClient, Array<() => Promise<void>>>();

/**
 * Runs `fn` once the transaction on `client` has committed (never on rollback): work that must not
 * happen for data that was not written, e.g. enqueueing jobs for rows inserted in it. `fn` should not
 * throw (the commit already happened); its errors are swallowed.
 */
export function onCommit(client: pg.PoolClient, fn: () => Promise<void>): void {
  const list = afterCommit.get(client);
  if (list) list.push(fn);
  else afterCommit.set(client, [fn]);
}

/** A pool or a client: what repository functions run their queries on. */
export type Queryable = Pick<pg.Pool, "query">;

/**
 * Runs fn in one transaction on one pooled connection; then its onCommit hooks, connection released.
 * `begin`: the statement that opens it (an isolation level, read only).
 */
export async function withTransaction<T>(fn: (c: pg.PoolClient) => Promise<T>, begin = "BEGIN"): Promise<T> {
  const c = await pool.connect();
  let out: T;
  let hooks: Array<() => Promise<void>> = [];
  try {
    await c.query(begin);
    out = await fn(c);
    await c.query("COMMIT");
    hooks = afterCommit.get(c) ?? [];
  } catch (err) {
    await c.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    afterCommit.delete(c);
    c.release();
  }
  for (const h of hooks) await h().catch(() => undefined);
  return out;
}

/**
 * Runs fn's reads on one connection in one snapshot (REPEATABLE READ, read only): a resource read in
 * several queries is then consistent, e.g. a message's events and the counts written with them.
 */
export const withSnapshot = <T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> =>
  withTransaction(fn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");

/**
 * Runs fn while this process holds the session advisory lock `key`, on a connection of its own: the
 * lock ends with that session, so it can never be left behind on a pooled connection. Processes
 * starting together wait for each other here (migrations, the first admin key).
 */
export async function withSessionLock<T>(key: number, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: config.DATABASE_URL });
  // Ended by the server while held (a restart): the next query fails; unhandled, it would end the process.
  c.on("error", () => undefined);
  await c.connect();
  try {
    await c.query("SELECT pg_advisory_lock($1)", [key]);
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
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
