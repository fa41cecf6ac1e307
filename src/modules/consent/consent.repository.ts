// Batched writes of consent state and its ledger. One path for every writer (API, public links,
// imports): current state is upserted and the ledger rows appended, chained, in the same transaction.
import type pg from "pg";
import { encrypt } from "../../platform/secrets.ts";
import { onCommit, values } from "../../platform/sql.ts";
import { enqueueDeliveries, recordEvents, type DomainEvent } from "../webhooks/emit.ts";
import { chainRows } from "./ledger-chain.ts";

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
  const customers = [...new Set(changes.map((c) => c.customerId))];
  // Each customer's ledger is a hash chain (ledger-chain.ts): one writer per customer at a time, or
  // two would continue from the same head and fork it. The customer rows are the lock (in id order,
  // before the consent rows below): row locks take no room in the shared lock table, where an import
  // page's thousand advisory locks, times concurrent pages, could run out. NO KEY UPDATE does not
  // block foreign-key checks of rows inserted for these customers elsewhere.
  await client.query("SELECT 1 FROM customers WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE", [customers]);
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
  await appendLedger(client, changes);
  await emitConsentEvents(client, changes);
}

/**
 * consent.changed for every change and customer.unsubscribed for every opt-out, written in the same
 * transaction (one insert for the whole batch) and enqueued once it commits.
 */
async function emitConsentEvents(client: pg.PoolClient, changes: ConsentChange[]): Promise<void> {
  const topics = await client.query<{ id: string; key: string }>("SELECT id, key FROM topics WHERE id = ANY($1::uuid[])", [
    [...new Set(changes.map((c) => c.topicId))],
  ]);
  const keyOf = new Map(topics.rows.map((t) => [t.id, t.key]));
  const events: DomainEvent[] = [];
  for (const c of changes) {
    const ids = { customerId: c.customerId, topic: keyOf.get(c.topicId) ?? null, topicId: c.topicId, channel: c.channel };
    events.push({ type: "consent.changed", data: { ...ids, status: c.status, action: c.action, source: c.source } });
    if (c.status === "opted_out") events.push({ type: "customer.unsubscribed", data: { ...ids, source: c.source } });
  }
  const deliveries = await recordEvents(client, events);
  if (deliveries.length) onCommit(client, () => enqueueDeliveries(deliveries));
}

/** A ledger row to append: a topic's consent change, or a customer-wide one (topicId and status null). */
export interface LedgerEntry extends Omit<ConsentChange, "topicId" | "status"> {
  topicId: string | null;
  status: ConsentStatus | null;
  /** Customer-wide rows: the new cadence or the pause's end. */
  value?: string | null;
}

/**
 * Appends rows to the customers' chains, in order, in one statement. Locks the customer rows first
 * (a caller that also writes state locks them before its own rows: see recordConsentChanges).
 */
export async function appendLedger(client: pg.PoolClient, changes: LedgerEntry[]): Promise<void> {
  if (changes.length === 0) return;
  const customers = [...new Set(changes.map((c) => c.customerId))];
  await client.query("SELECT 1 FROM customers WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE", [customers]);
  // The head of each chain, read after the lock (a new statement sees what the last holder committed),
  // and the row time as stored (timestamptz(3)), since it is hashed.
  const heads = await client.query<{ id: string; hash: Buffer | null; now: Date }>(
    `SELECT u.id, now()::timestamptz(3) AS now,
            (SELECT e.hash FROM consent_events e WHERE e.customer_id = u.id ORDER BY e.id DESC LIMIT 1) AS hash
       FROM unnest($1::uuid[]) u(id)`,
    [customers],
  );
  const createdAt = heads.rows[0].now;
  const rows = chainRows(
    changes.map((c) => ({
      customerId: c.customerId, topicId: c.topicId, channel: c.channel, action: c.action, status: c.status, source: c.source,
      wording: c.wording ?? null, proofEnc: enc(c.proof, c.dataKey), ipEnc: enc(c.ip, c.dataKey), userAgentEnc: enc(c.userAgent, c.dataKey),
      actor: c.actor, createdAt, value: c.value ?? null,
    })),
    new Map(heads.rows.map((h) => [h.id, h.hash])),
  );
  // Column arrays (a fixed number of parameters, whatever the batch size); ids follow the array
  // order, which is the chain order.
  const col = <K extends keyof (typeof rows)[number]>(k: K) => rows.map((r) => r[k]);
  const hex = (b: Buffer | null) => (b ? b.toString("hex") : null);
  await client.query(
    `INSERT INTO consent_events (customer_id, topic_id, channel, action, status, source, wording, proof_enc, ip_enc, user_agent_enc, actor, created_at, hash, prev_hash, value)
     SELECT customer_id, topic_id, channel, action, status::"ConsentStatus", source, wording, proof_enc, ip_enc, user_agent_enc, actor, $12::timestamptz,
            decode(hash, 'hex'), decode(prev_hash, 'hex'), value
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $13::text[], $14::text[], $15::text[])
            WITH ORDINALITY AS v(customer_id, topic_id, channel, action, status, source, wording, proof_enc, ip_enc, user_agent_enc, actor, hash, prev_hash, value, n)
      ORDER BY n`,
    [
      col("customerId"), col("topicId"), col("channel"), col("action"), col("status"), col("source"), col("wording"),
      col("proofEnc"), col("ipEnc"), col("userAgentEnc"), col("actor"), createdAt, rows.map((r) => hex(r.hash)), rows.map((r) => hex(r.prevHash)),
      col("value"),
    ],
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
