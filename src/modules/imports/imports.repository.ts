// Bulk SQL for imports: one statement per page of rows, never one per row (raw pg, ~0.5 ms/query).
import type pg from "pg";
import { pool } from "../../platform/prisma.ts";

export interface RowError {
  row: number;
  field?: string;
  message: string;
}

export type ImportStatus = "receiving" | "queued" | "running" | "completed" | "failed";
export type ImportFormat = "csv" | "json";

// Raw pg here too: the input is megabytes, which Prisma's query compiler would copy around.
/** An upload begins: the import exists, unseen (status receiving), while its chunks arrive. */
export async function insertReceiving(d: { id: string; format: ImportFormat; actor: string }): Promise<void> {
  await pool.query(
    `INSERT INTO imports (id, status, format, actor, updated_at) VALUES ($1, 'receiving', $2, $3, now())`,
    [d.id, d.format, d.actor],
  );
}

export async function appendChunk(id: string, seq: number, data: Buffer): Promise<void> {
  await pool.query("INSERT INTO import_chunks (import_id, seq, data) VALUES ($1, $2, $3)", [id, seq, data]);
}

/** The upload is complete: the job may take it. `total` is the edge's count; the job's parse sets the final one. */
export async function markReceived(id: string, total: number): Promise<void> {
  await pool.query("UPDATE imports SET status = 'queued', total = $2, updated_at = now() WHERE id = $1 AND status = 'receiving'", [id, total]);
}

/** The raw upload, in order. */
export async function readChunks(client: pg.PoolClient, id: string): Promise<Buffer[]> {
  const r = await client.query<{ data: Buffer }>("SELECT data FROM import_chunks WHERE import_id = $1 ORDER BY seq", [id]);
  return r.rows.map((x) => x.data);
}

/**
 * Locks a queued or running import whose input is still raw (chunks only): its format and the
 * address hashes erased meanwhile. null when it is not raw (already parsed) or finished.
 */
export async function lockRaw(client: pg.PoolClient, id: string): Promise<{ format: ImportFormat; erased: string[] } | null> {
  const r = await client.query(
    "SELECT format, COALESCE(erased, '{}') AS erased FROM imports WHERE id = $1 AND status IN ('queued', 'running') AND input IS NULL FOR UPDATE",
    [id],
  );
  return r.rows[0] ?? null;
}

/** The parsed input replaces the raw chunks. */
export async function storeParsed(client: pg.PoolClient, id: string, input: string, total: number): Promise<void> {
  await client.query("UPDATE imports SET input = $2, total = $3, erased = '{}' WHERE id = $1", [id, input, total]);
  await client.query("DELETE FROM import_chunks WHERE import_id = $1", [id]);
}

/** An erasure while the input is raw: the job leaves that address's rows out when it parses it. */
export async function addErased(client: pg.PoolClient, id: string, hash: string): Promise<void> {
  await client.query("UPDATE imports SET erased = array_append(COALESCE(erased, '{}'), $2) WHERE id = $1", [id, hash]);
}

export interface ImportRecord {
  id: string;
  status: ImportStatus;
  format: ImportFormat;
  total: number;
  processed: number;
  created: number;
  updated: number;
  failed: number;
  errors: RowError[];
  createdAt: Date;
  finishedAt: Date | null;
}

export async function findImport(id: string): Promise<ImportRecord | null> {
  const r = await pool.query<ImportRecord>(
    `SELECT id, status, format, total, processed, created, updated, failed, errors,
            created_at AS "createdAt", finished_at AS "finishedAt"
     FROM imports WHERE id = $1`,
    [id],
  );
  return r.rows[0] ?? null;
}

export async function deleteImport(id: string): Promise<void> {
  await pool.query("DELETE FROM imports WHERE id = $1", [id]);
}

export interface ClaimedImport {
  format: ImportFormat;
  /** null while the upload is still raw (see materialise.ts). */
  input: string | null;
  /** md5 of the input: tells a page whether scrubPendingImports rewrote it since it was read. */
  digest: string;
  processed: number;
  actor: string;
}

/** Marks the import running and returns its input; null once it is finished (or gone). */
export async function claimImport(id: string): Promise<ClaimedImport | null> {
  const r = await pool.query(
    `UPDATE imports SET status = 'running', updated_at = now()
     WHERE id = $1 AND status IN ('queued', 'running')
     RETURNING format, input, md5(input) AS digest, processed, actor`,
    [id],
  );
  return r.rows[0] ?? null;
}

/** The current input of a running import (after a scrub rewrote it); null once it is finished. */
export async function readInput(id: string): Promise<{ input: string; digest: string } | null> {
  const r = await pool.query(
    "SELECT input, md5(input) AS digest FROM imports WHERE id = $1 AND status = 'running' AND input IS NOT NULL",
    [id],
  );
  return r.rows[0] ?? null;
}

/**
 * Closes imports left queued or running with no progress for olderThanMs (their job is gone: it
 * failed by stalling, or the process died before the last retry could close it), except `exceptId`.
 * One statement; returns the ids it closed.
 */
export async function failStale(olderThanMs: number, error: RowError, exceptId?: string): Promise<string[]> {
  // An upload the process died in (status receiving) is closed the same way.
  const r = await pool.query<{ id: string }>(
    `WITH closed AS (
       UPDATE imports SET status = 'failed', input = NULL, finished_at = now(), updated_at = now(), errors = errors || $2::jsonb
       WHERE status IN ('receiving', 'queued', 'running') AND updated_at < now() - make_interval(secs => $1::double precision / 1000)
         AND id IS DISTINCT FROM $3::uuid
       RETURNING id
     ), dropped AS (DELETE FROM import_chunks WHERE import_id IN (SELECT id FROM closed))
     SELECT id FROM closed`,
    [olderThanMs, JSON.stringify([error]), exceptId ?? null],
  );
  return r.rows.map((x) => x.id);
}

/**
 * Locks, for one transaction, the pending imports whose input may name this address key. The text
 * search is a prefilter only (the caller compares addressKey row by row), used when it cannot miss:
 * JSON text holds printable ASCII other than `"` and `\` verbatim, and lower() under the "C"
 * collation folds exactly A-Z, as toLowerCase does for ASCII (a non-ASCII spelling that toLowerCase
 * folds to the key, e.g. a Kelvin sign, fails email validation and is never written). Any other key
 * reads every pending input.
 */
export async function lockPendingInputsNaming(client: pg.PoolClient, key: string): Promise<Array<{ id: string; format: ImportFormat; input: string | null }>> {
  const needle = /^[\x20-\x7e]*$/.test(key) && !/["\\]/.test(key) ? key : null;
  // Raw inputs (input NULL: uploading, or not yet parsed by the job) are locked too and returned
  // with input null. A job parsing one holds its lock; this waits for it and then sees (and
  // re-checks) the parsed input.
  const r = await client.query(
    `SELECT id, format, input FROM imports
     WHERE status IN ('receiving', 'queued', 'running')
       AND (input IS NULL OR $1::text IS NULL OR strpos(lower(input COLLATE "C"), $1) > 0)
     ORDER BY id FOR UPDATE`,
    [needle],
  );
  return r.rows;
}

/** Rewrites a pending import's input. updated_at is left alone: it tracks the job's progress. */
export async function replaceInput(client: pg.PoolClient, id: string, input: string): Promise<void> {
  await client.query("UPDATE imports SET input = $2 WHERE id = $1", [id, input]);
}

/** Done: the input (parsed or raw) is PII and is dropped as soon as it is no longer needed. */
export async function finishImport(id: string, status: "completed" | "failed", errors: RowError[] = []): Promise<void> {
  await pool.query(
    `WITH done AS (
       UPDATE imports SET status = $2, input = NULL, finished_at = now(), updated_at = now(), errors = errors || $3::jsonb
       WHERE id = $1 AND status IN ('queued', 'running') RETURNING id
     ) DELETE FROM import_chunks WHERE import_id IN (SELECT id FROM done)`,
    [id, status, JSON.stringify(errors)],
  );
}

export async function personaIds(keys: string[]): Promise<Map<string, string>> {
  if (keys.length === 0) return new Map();
  const r = await pool.query<{ key: string; id: string }>("SELECT key, id FROM personas WHERE key = ANY($1::text[])", [keys]);
  return new Map(r.rows.map((p) => [p.key, p.id]));
}

export async function topicIds(keys: string[]): Promise<Map<string, string>> {
  if (keys.length === 0) return new Map();
  const r = await pool.query<{ key: string; id: string }>("SELECT key, id FROM topics WHERE key = ANY($1::text[])", [keys]);
  return new Map(r.rows.map((t) => [t.key, t.id]));
}

/** Who holds these externalIds now: externalId -> email of the holder (null when erased). */
export async function externalIdHolders(ids: string[]): Promise<Map<string, string | null>> {
  if (ids.length === 0) return new Map();
  const r = await pool.query<{ external_id: string; email: string | null }>(
    "SELECT external_id, email FROM customers WHERE external_id = ANY($1::text[])",
    [ids],
  );
  return new Map(r.rows.map((c) => [c.external_id, c.email]));
}

/**
 * Locks the import row for this page's transaction: how many rows are already done, and the digest
 * of the input now (a scrub changes it). null once the import is no longer running.
 */
export async function lockProgress(client: pg.PoolClient, id: string): Promise<{ processed: number; digest: string } | null> {
  const r = await client.query(
    "SELECT processed, md5(input) AS digest FROM imports WHERE id = $1 AND status = 'running' FOR UPDATE",
    [id],
  );
  return r.rows[0] ?? null;
}

export async function addProgress(
  client: pg.PoolClient,
  id: string,
  d: { processed: number; created: number; updated: number; failed: number; errors: RowError[] },
): Promise<void> {
  await client.query(
    `UPDATE imports SET processed = processed + $2, created = created + $3, updated = updated + $4,
       failed = failed + $5, errors = errors || $6::jsonb, updated_at = now()
     WHERE id = $1`,
    [id, d.processed, d.created, d.updated, d.failed, JSON.stringify(d.errors)],
  );
}

export interface CustomerUpsert {
  id: string;
  email: string;
  emailHash: string;
  externalId: string | null;
  name: string | null;
  locale: string | null;
  timezone: string | null;
  /** JSON text; null leaves existing attributes alone. */
  attributes: string | null;
  personaId: string | null;
  dataKey: Buffer;
}

export interface Upserted {
  id: string;
  emailHash: string;
  inserted: boolean;
  dataKey: Buffer;
}

/**
 * One statement for the whole page. New addresses are inserted; existing ones (same email_hash, so
 * compared case-insensitively) get the fields the row gives: absent fields keep their value,
 * attributes merge key by key, and the email takes the row's spelling. xmax = 0 only on insert.
 */
export async function upsertCustomers(client: pg.PoolClient, rows: CustomerUpsert[]): Promise<Upserted[]> {
  if (rows.length === 0) return [];
  // A stable lock order (by the conflict key) keeps two concurrent imports of overlapping files from deadlocking.
  const sorted = [...rows].sort((a, b) => (a.emailHash < b.emailHash ? -1 : a.emailHash > b.emailHash ? 1 : 0));
  const col = <K extends keyof CustomerUpsert>(k: K) => sorted.map((r) => r[k]);
  const r = await client.query<{ id: string; email_hash: string; inserted: boolean; data_key: Buffer }>(
    `INSERT INTO customers AS c (id, email, email_hash, external_id, name, locale, timezone, attributes, persona_id, data_key, created_at, updated_at)
     SELECT v.id, v.email, v.email_hash, v.external_id, v.name, v.locale, v.timezone, COALESCE(v.attributes, '{}'::jsonb),
            v.persona_id, v.data_key, now(), now()
     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::uuid[], $10::bytea[])
       AS v(id, email, email_hash, external_id, name, locale, timezone, attributes, persona_id, data_key)
     ON CONFLICT (email_hash) DO UPDATE SET
       email = EXCLUDED.email,
       external_id = COALESCE(EXCLUDED.external_id, c.external_id),
       name = COALESCE(EXCLUDED.name, c.name),
       locale = COALESCE(EXCLUDED.locale, c.locale),
       timezone = COALESCE(EXCLUDED.timezone, c.timezone),
       attributes = c.attributes || EXCLUDED.attributes,
       persona_id = COALESCE(EXCLUDED.persona_id, c.persona_id),
       data_key = COALESCE(c.data_key, EXCLUDED.data_key),
       updated_at = now()
     RETURNING c.id, c.email_hash, (c.xmax = 0) AS inserted, c.data_key`,
    [
      col("id"), col("email"), col("emailHash"), col("externalId"), col("name"), col("locale"),
      col("timezone"), col("attributes"), col("personaId"), col("dataKey"),
    ],
  );
  return r.rows.map((x) => ({ id: x.id, emailHash: x.email_hash, inserted: x.inserted, dataKey: x.data_key }));
}

/** Current consent status for these customer x topic pairs (email channel), keyed "customer|topic". */
export async function currentConsents(client: pg.PoolClient, pairs: Array<[string, string]>): Promise<Map<string, string>> {
  if (pairs.length === 0) return new Map();
  const r = await client.query<{ customer_id: string; topic_id: string; status: string }>(
    `SELECT s.customer_id, s.topic_id, s.status FROM consents s
     JOIN unnest($1::uuid[], $2::uuid[]) AS p(customer_id, topic_id) USING (customer_id, topic_id)
     WHERE s.channel = 'email'`,
    [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
  );
  return new Map(r.rows.map((s) => [`${s.customer_id}|${s.topic_id}`, s.status]));
}

/** ANALYZE of the tables an import writes (a sample of rows each: well under a second). */
export async function refreshStatistics(): Promise<void> {
  await pool.query("ANALYZE customers, consents, consent_events");
}
