// Batched writes of consent state and its ledger. One path for every writer (API, public links,
// imports): current state is upserted and the ledger row appended in the same transaction.
import type pg from "pg";
import { encrypt } from "../../platform/secrets.ts";
import { values } from "../../platform/sql.ts";

export type ConsentStatus = "pending" | "opted_in" | "opted_out";

export interface ConsentChange {
  customerId: string;
  topicId: string;
  channel: "email";
  status: ConsentStatus;
  /** Ledger action: opt_in_requested | opted_in | confirmed | opted_out | imported */
  action: string;
  source: string;
  proof?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  /** The wording the customer was shown (kept in clear: it is not personal data). */
  wording?: string | null;
  actor: string;
  /** The customer's data key: PII in the ledger is encrypted with it (crypto-shredding on erasure). */
  dataKey: Buffer;
}

const enc = (v: string | null | undefined, key: Buffer) => (v ? encrypt(v, key) : null);

export async function recordConsentChanges(client: pg.PoolClient, changes: ConsentChange[]): Promise<void> {
  if (changes.length === 0) return;
  // A batch may name the same customer x topic twice; the state keeps the last, the ledger keeps all.
  const latest = new Map<string, ConsentChange>();
  for (const c of changes) latest.set(`${c.customerId}|${c.topicId}|${c.channel}`, c);
  const state = values(
    [...latest.values()].map((c) => [c.customerId, c.topicId, c.channel, c.status]),
    ["::uuid", "::uuid", "", '::"ConsentStatus"'],
  );
  await client.query(
    `INSERT INTO consents (customer_id, topic_id, channel, status, created_at, updated_at)
     SELECT v.*, now(), now() FROM (VALUES ${state.sql}) AS v(customer_id, topic_id, channel, status)
     ON CONFLICT (customer_id, topic_id, channel) DO UPDATE SET status = EXCLUDED.status, updated_at = now()`,
    state.params,
  );
  const ledger = values(
    changes.map((c) => [
      c.customerId, c.topicId, c.channel, c.action, c.status, c.source, c.wording ?? null,
      enc(c.proof, c.dataKey), enc(c.ip, c.dataKey), enc(c.userAgent, c.dataKey), c.actor,
    ]),
    ["::uuid", "::uuid", "", "", '::"ConsentStatus"'],
  );
  await client.query(
    `INSERT INTO consent_events (customer_id, topic_id, channel, action, status, source, wording, proof_enc, ip_enc, user_agent_enc, actor)
     VALUES ${ledger.sql}`,
    ledger.params,
  );
}

export interface CurrentConsent {
  status: ConsentStatus;
  updatedAt: Date;
}

/** Locks and returns the current state of one customer x topic x channel (null when none yet). */
export async function lockConsent(client: pg.PoolClient, customerId: string, topicId: string, channel: string): Promise<CurrentConsent | null> {
  // Serialise concurrent changes to the same consent, including the very first one.
  await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`consent|${customerId}|${topicId}|${channel}`]);
  const r = await client.query(
    "SELECT status, updated_at FROM consents WHERE customer_id = $1 AND topic_id = $2 AND channel = $3",
    [customerId, topicId, channel],
  );
  return r.rows[0] ? { status: r.rows[0].status, updatedAt: r.rows[0].updated_at } : null;
}
