// The consent ledger proves itself: each customer's rows form a hash chain. A row's hash is SHA-256
// over its stored values (ciphertexts, not plaintext: crypto-shredding on erasure leaves the chain
// valid) and the hash of the customer's previous row. The append-only trigger stops the application;
// the chain shows where anyone able to bypass it (a database owner) changed, removed or inserted a
// row in the middle of a chain. It cannot show that the newest rows were removed (no external
// anchor), and someone who recomputes every later hash is not caught either: it proves accidents
// and naive edits, not a determined owner. Pure functions only; reading and writing is elsewhere.
import { createHash } from "node:crypto";

/** What is hashed: the row exactly as stored, minus its id (assigned on insert) and its own hash. */
export interface ChainedRow {
  customerId: string;
  /** Null on customer-wide rows (cadence, pause). */
  topicId: string | null;
  channel: string;
  action: string;
  status: string | null;
  source: string;
  wording: string | null;
  proofEnc: string | null;
  ipEnc: string | null;
  userAgentEnc: string | null;
  actor: string;
  createdAt: Date;
  /** Customer-wide rows: the new cadence or the pause's end. Hashed only when present, so rows
   * written before the column existed keep their hashes. */
  value?: string | null;
}

const VERSION = "consent-ledger-v1";

/** SHA-256 of an unambiguous encoding (a JSON array: strings are quoted and escaped, nulls explicit). */
export function rowHash(row: ChainedRow, prevHash: Buffer | null): Buffer {
  const canonical = JSON.stringify([
    VERSION, prevHash ? prevHash.toString("hex") : null, row.customerId, row.topicId, row.channel, row.action, row.status,
    row.source, row.wording, row.proofEnc, row.ipEnc, row.userAgentEnc, row.actor, row.createdAt.getTime(),
    ...(row.value == null ? [] : [row.value]),
  ]);
  return createHash("sha256").update(canonical, "utf8").digest();
}

/**
 * Hashes new rows in order, continuing each customer's chain from `heads` (customer id -> hash of
 * their latest stored row, or null). `heads` is advanced in place.
 */
export function chainRows<T extends ChainedRow>(rows: T[], heads: Map<string, Buffer | null>): Array<T & { hash: Buffer; prevHash: Buffer | null }> {
  return rows.map((r) => {
    const prevHash = heads.get(r.customerId) ?? null;
    const hash = rowHash(r, prevHash);
    heads.set(r.customerId, hash);
    return { ...r, hash, prevHash };
  });
}

export interface StoredRow extends ChainedRow {
  id: bigint | string;
  hash: Buffer | null;
  prevHash: Buffer | null;
}

export interface ChainVerdict {
  valid: boolean;
  /** Rows whose hash was checked (rows written before the chain existed are not). */
  checked: number;
  /** Rows before the customer's first hashed row: written before the chain existed. */
  unchained: number;
  firstInvalid?: { id: string; createdAt: string };
}

/**
 * Verifies one customer's rows, oldest first (by id). A row is invalid when its hash does not match
 * its values, when its prevHash is not the previous row's hash (a row removed or reordered before
 * it), or when it has no hash after the chain started (a row slipped in without one). Rows without
 * a hash before the first hashed row were written before the chain existed: counted, not checked.
 */
export function verifyChain(rows: StoredRow[]): ChainVerdict {
  let prev: Buffer | null = null;
  let started = false;
  let checked = 0;
  let unchained = 0;
  let firstInvalid: ChainVerdict["firstInvalid"];
  for (const r of rows) {
    if (!r.hash && !started) {
      unchained++;
      continue;
    }
    // The first hashed row follows nothing (or a row without a hash): its prevHash is null, so
    // removing the first row of a chain shows on the second.
    const linked = started ? r.prevHash !== null && prev !== null && r.prevHash.equals(prev) : r.prevHash === null;
    const ok = r.hash !== null && linked && r.hash.equals(rowHash(r, r.prevHash));
    checked++;
    if (!ok && !firstInvalid) firstInvalid = { id: String(r.id), createdAt: r.createdAt.toISOString() };
    started = true;
    prev = r.hash;
  }
  return { valid: !firstInvalid, checked, unchained, ...(firstInvalid ? { firstInvalid } : {}) };
}
