// Suppression lookups by address: the list holds keyed hashes only, so it can answer "is this
// address suppressed?" but never list addresses.
import { pool } from "../../platform/prisma.ts";
import { addressHash } from "../../platform/secrets.ts";
import { addressKey } from "../customers/email.ts";

export async function suppressionOf(address: string): Promise<{ reason: string; since: string } | null> {
  const { rows } = await pool.query<{ reason: string; created_at: Date }>(
    "SELECT reason, created_at FROM suppressions WHERE address_hash = $1",
    [addressHash(addressKey(address))],
  );
  return rows[0] ? { reason: rows[0].reason, since: rows[0].created_at.toISOString() } : null;
}
