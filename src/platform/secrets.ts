// Keys derived from RAPPORT_SECRET (HKDF), one per purpose, so a leak of one use reveals no other.
// Set once at start-up (the development secret may come from the database), read everywhere.
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";

export interface Keys {
  token: Buffer;
  address: Buffer;
  encryption: Buffer;
  returnPath: Buffer;
}

let keys: Keys | null = null;

export function initSecrets(secret: string): void {
  const derive = (info: string) => Buffer.from(hkdfSync("sha256", secret, "rapport", info, 32));
  keys = { token: derive("tokens-v1"), address: derive("address-hash-v1"), encryption: derive("encryption-v1"), returnPath: derive("return-path-v1") };
}

/**
 * The derived keys, for a worker thread of this process (src/modules/delivery/build-threads.ts):
 * threads share no module state, and the secret itself may have come from the database.
 */
export function secretKeys(): Keys {
  return k();
}

/** In a worker thread: the keys its parent derived (secretKeys). */
export function adoptSecretKeys(given: Keys): void {
  const copy = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  keys = { token: copy(given.token), address: copy(given.address), encryption: copy(given.encryption), returnPath: copy(given.returnPath) };
}

function k(): Keys {
  if (!keys) throw new Error("secrets not initialised: call initSecrets() at start-up");
  return keys;
}

export const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** Keyed hash of a normalised email, for suppression lookups without plaintext. */
export const addressHash = (normalisedEmail: string) =>
  createHmac("sha256", k().address).update(normalisedEmail.toLowerCase()).digest("hex");

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

// ---- Signed tokens for public links: base64url(JSON).base64url(HMAC) ----

export interface TokenClaims {
  /** purpose: "u" unsubscribe, "p" preferences, "c" confirm */
  p: string;
  [claim: string]: string | number | undefined;
}

const b64 = (b: Buffer) => b.toString("base64url");

export function signToken(claims: TokenClaims): string {
  const body = b64(Buffer.from(JSON.stringify(claims)));
  const mac = createHmac("sha256", k().token).update(body).digest().subarray(0, 20);
  return `${body}.${b64(mac)}`;
}

/** Returns the claims when the signature is valid, the purpose matches and it has not expired. */
export function verifyToken<T extends TokenClaims>(token: string, purpose: string, now = Date.now()): T | null {
  if (typeof token !== "string" || token.length > 2048) return null;
  const dot = token.indexOf(".");
  if (dot < 1) return null;
  const body = token.slice(0, dot);
  const mac = b64(createHmac("sha256", k().token).update(body).digest().subarray(0, 20));
  if (!safeEqual(mac, token.slice(dot + 1))) return null;
  try {
    const claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as T;
    if (claims.p !== purpose) return null;
    if (typeof claims.exp === "number" && claims.exp * 1000 < now) return null;
    return claims;
  } catch {
    return null;
  }
}

/**
 * A short MAC over binary data (compact tokens, e.g. tracking links): HMAC-SHA256 with the token key,
 * truncated to `bytes`. Compare with safeEqualBytes.
 */
export const shortMac = (data: Buffer, bytes = 12) => createHmac("sha256", k().token).update(data).digest().subarray(0, bytes);

export const safeEqualBytes = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

/** Signature of a return path (VERP) address: 64 bits of HMAC, lower-case hex (MTAs may fold case). */
export const returnPathMac = (data: string) => createHmac("sha256", k().returnPath).update(data).digest("hex").slice(0, 16);

// ---- Authenticated encryption (AES-256-GCM) ----

export const newDataKey = () => randomBytes(32);

export function encrypt(plain: string, key: Buffer = k().encryption): string {
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", key, iv);
  const out = Buffer.concat([c.update(plain, "utf8"), c.final()]);
  return b64(Buffer.concat([iv, c.getAuthTag(), out]));
}

/** Null when the key is gone (crypto-shredded) or the ciphertext was tampered with. */
export function decrypt(enc: string, key: Buffer | null | undefined = k().encryption): string | null {
  if (!key) return null;
  try {
    const raw = Buffer.from(enc, "base64url");
    const d = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString("utf8");
  } catch {
    return null;
  }
}
