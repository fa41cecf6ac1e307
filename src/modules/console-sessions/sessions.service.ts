// Console sessions: an API key pasted once becomes a session. The browser holds a random 256-bit
// secret; the database only its SHA-256 (a leaked table opens no session). Every request checks the
// session in one indexed statement that also sees whether its key was revoked meanwhile.
import { createHmac, randomBytes } from "node:crypto";
import { config } from "../../platform/config.ts";
import { pool } from "../../platform/prisma.ts";
import { redis } from "../../platform/redis.ts";
import { safeEqual, sha256 } from "../../platform/secrets.ts";
import { authenticate, type Principal, type Role } from "../api-keys/api-keys.service.ts";

export const SESSION_HOURS = 12;
const SIGN_IN_PER_MINUTE = 10;

/** Sessions opened with RAPPORT_ADMIN_KEY end when that setting changes or is removed. */
const envKeyHash = () => (config.RAPPORT_ADMIN_KEY ? sha256(`console-env:${config.RAPPORT_ADMIN_KEY}`) : null);

/** A new session for a valid key, or null (unknown or revoked key). */
export async function signIn(presentedKey: string): Promise<{ token: string; principal: Principal } | null> {
  const principal = await authenticate(presentedKey.trim());
  if (!principal) return null;
  const token = randomBytes(32).toString("base64url");
  await pool.query(
    `INSERT INTO console_sessions (id_hash, api_key_id, env_key_hash, role, expires_at)
     VALUES ($1, $2, $3, $4::"Role", now() + make_interval(hours => $5))`,
    [sha256(token), principal.keyId, principal.keyId ? null : envKeyHash(), principal.role, SESSION_HOURS],
  );
  // Housekeeping, bounded: expired rows of anyone, a few at a time.
  void pool
    .query("DELETE FROM console_sessions WHERE id_hash IN (SELECT id_hash FROM console_sessions WHERE expires_at < now() LIMIT 100)")
    .catch(() => undefined);
  return { token, principal };
}

/** The principal of a live session: not expired, and its key not revoked (or the env key unchanged). */
export async function sessionPrincipal(token: string): Promise<Principal | null> {
  if (!token || token.length > 100) return null;
  const { rows } = await pool.query<{ role: Role; api_key_id: string | null; env_key_hash: string | null }>({
    name: "console-session",
    text: `SELECT s.role, s.api_key_id, s.env_key_hash FROM console_sessions s
             LEFT JOIN api_keys k ON k.id = s.api_key_id
            WHERE s.id_hash = $1 AND s.expires_at > now() AND (s.api_key_id IS NULL OR k.revoked_at IS NULL)`,
    values: [sha256(token)],
  });
  const s = rows[0];
  if (!s) return null;
  if (!s.api_key_id) {
    const env = envKeyHash();
    if (!env || !s.env_key_hash || !safeEqual(env, s.env_key_hash)) return null;
    return { actor: "admin-key:env", role: "admin", keyId: null };
  }
  return { actor: `api-key:${s.api_key_id}`, role: s.role, keyId: s.api_key_id };
}

export async function signOut(token: string): Promise<void> {
  if (token) await pool.query("DELETE FROM console_sessions WHERE id_hash = $1", [sha256(token)]);
}

/** The CSRF token of a session: keyed by the session secret itself, so only its holder can make it. */
export const csrfTokenFor = (sessionToken: string) => createHmac("sha256", sessionToken).update("csrf").digest("base64url");

const attemptsKey = (ip: string) => `${config.QUEUE_PREFIX}:console-sign-in:${sha256(ip).slice(0, 32)}`;

/**
 * Failed sign-ins per client address: at most 10 in a window that starts with the first of them and
 * lasts a minute, across processes (Redis; the address is hashed). Every attempt takes a slot first
 * (so concurrent guesses cannot overshoot) and a successful one gives it back: true when this
 * attempt may go ahead.
 */
export async function takeSignInSlot(ip: string): Promise<boolean> {
  const key = attemptsKey(ip);
  const [[, n]] = (await redis().multi().incr(key).expire(key, 60, "NX").exec()) as [[null, number]];
  return n <= SIGN_IN_PER_MINUTE;
}

export async function giveBackSignInSlot(ip: string): Promise<void> {
  await redis().decr(attemptsKey(ip));
}
