// API keys: random 256-bit secrets shown once, stored as SHA-256 hashes, looked up by hash.
import { randomBytes } from "node:crypto";
import { config } from "../../platform/config.ts";
import { notFound } from "../../platform/errors.ts";
import { db, pool } from "../../platform/prisma.ts";
import { safeEqual, sha256 } from "../../platform/secrets.ts";

export type Role = "admin" | "marketer" | "developer";

export interface Principal {
  /** Who acted, as written into ledgers: "api-key:<id>" or "admin-key:env". */
  actor: string;
  role: Role;
  keyId: string | null;
}

const KEY_PREFIX = "rpk_";

export async function createApiKey(input: { name: string; role: Role }) {
  const key = KEY_PREFIX + randomBytes(32).toString("base64url");
  const row = await db.apiKey.create({
    data: { name: input.name, role: input.role, prefix: key.slice(0, 12), hash: sha256(key) },
  });
  return { id: row.id, name: row.name, key, role: row.role, prefix: row.prefix, createdAt: row.createdAt.toISOString() };
}

export async function revokeApiKey(id: string): Promise<void> {
  const { count } = await db.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
  // This process honours a revocation at once; the others within KEY_CACHE_MS. Cleared after the
  // write, and lookups that read before it may not cache what they read (a clear before the write
  // let a concurrent request re-cache the key for another KEY_CACHE_MS).
  known.clear();
  cacheGeneration++;
  if (count === 0 && !(await db.apiKey.findUnique({ where: { id } }))) throw notFound("API key", id);
}

export async function listApiKeys() {
  const rows = await db.apiKey.findMany({ orderBy: { id: "asc" } });
  return rows.map((r) => ({
    id: r.id, name: r.name, role: r.role, prefix: r.prefix,
    createdAt: r.createdAt.toISOString(), revokedAt: r.revokedAt?.toISOString() ?? null,
  }));
}

// A valid key is looked up once per KEY_CACHE_MS per process, not per request (a query per request
// was a quarter of the send API's database round trips). A revocation reaches every process within
// that time: the revoking one at once.
const KEY_CACHE_MS = 5000;
const known = new Map<string, { principal: Principal; until: number }>();
/** Bumped by each revocation: a lookup that began before it does not cache its answer. */
let cacheGeneration = 0;

// last_used_at is written at most once a minute per key and process: a write per request would
// double the cost of authentication on the hot send path.
const lastUsedWritten = new Map<string, number>();

/** The principal for a presented key, or null when it is unknown or revoked. */
export async function authenticate(presented: string): Promise<Principal | null> {
  if (config.RAPPORT_ADMIN_KEY && safeEqual(presented, config.RAPPORT_ADMIN_KEY)) {
    return { actor: "admin-key:env", role: "admin", keyId: null };
  }
  if (!presented.startsWith(KEY_PREFIX) || presented.length > 100) return null;
  const hash = sha256(presented);
  const now = Date.now();
  const hit = known.get(hash);
  if (hit && hit.until > now) return hit.principal;
  const generation = cacheGeneration;
  // Raw prepared statement: every API request runs this, and Prisma adds ~0.5 ms per query.
  const { rows } = await pool.query<{ id: string; role: Role }>({
    name: "api-key-by-hash",
    text: "SELECT id, role FROM api_keys WHERE hash = $1 AND revoked_at IS NULL",
    values: [hash],
  });
  const row = rows[0];
  if (!row) return null;
  const principal: Principal = { actor: `api-key:${row.id}`, role: row.role, keyId: row.id };
  // Only valid keys are remembered (an unknown key costs its query each time: no cache to flood).
  if (known.size > 10_000) known.clear();
  if (generation === cacheGeneration) known.set(hash, { principal, until: now + KEY_CACHE_MS });
  if ((lastUsedWritten.get(row.id) ?? 0) < now - 60_000) {
    if (lastUsedWritten.size > 10_000) lastUsedWritten.clear();
    lastUsedWritten.set(row.id, now);
    void pool.query("UPDATE api_keys SET last_used_at = now() WHERE id = $1", [row.id]).catch(() => undefined);
  }
  return principal;
}
