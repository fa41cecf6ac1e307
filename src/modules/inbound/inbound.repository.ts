// SQL of inbound mail: who a report is about, the inbound_events rows (one per finding, unique per
// report), soft-bounce counts, suppressions and the message events that are not status changes.
import type pg from "pg";
import { pool } from "../../platform/prisma.ts";

export interface Target {
  messageId: string | null;
  customerId: string | null;
  campaignId: string | null;
  topicId: string | null;
  /** Keyed hash of the address the report concerns (the customer's, or the one given). */
  addressHash: string | null;
  /** The customer's data key (reply text is encrypted with it); null when erased or unknown. */
  dataKey: Buffer | null;
}

/** The first of the candidate ids (in the given order) that is one of our messages, with its customer. */
export async function messageTarget(ids: string[]): Promise<Target | null> {
  if (ids.length === 0) return null;
  const { rows } = await pool.query<{ id: string; customer_id: string; campaign_id: string | null; topic_id: string; email_hash: string | null; data_key: Buffer | null }>(
    `SELECT m.id, m.customer_id, m.campaign_id, m.topic_id, c.email_hash, c.data_key
       FROM messages m JOIN customers c ON c.id = m.customer_id WHERE m.id = ANY($1::uuid[])`,
    [ids],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  const r = ids.map((id) => byId.get(id)).find(Boolean);
  return r ? { messageId: r.id, customerId: r.customer_id, campaignId: r.campaign_id, topicId: r.topic_id, addressHash: r.email_hash, dataKey: r.data_key } : null;
}

/** A report about an address: the customer holding it, if any (the address is suppressed either way). */
export async function addressTarget(addressHash: string): Promise<Target> {
  const { rows } = await pool.query<{ id: string; data_key: Buffer | null }>(
    "SELECT id, data_key FROM customers WHERE email_hash = $1 AND erased_at IS NULL",
    [addressHash],
  );
  return { messageId: null, customerId: rows[0]?.id ?? null, campaignId: null, topicId: null, addressHash, dataKey: rows[0]?.data_key ?? null };
}

export interface InboundRow {
  reportKey: string;
  seq: number;
  type: string;
  channel: string;
  target: Target;
  code: string | null;
  detail: string | null;
  bodyEnc: string | null;
}

/** Inserts the finding; null when this report's finding was recorded before (the same report again). */
export async function insertInboundEvent(q: pg.PoolClient, r: InboundRow): Promise<string | null> {
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO inbound_events (report_key, seq, type, channel, customer_id, message_id, address_hash, code, detail, body_enc, created_at)
     VALUES ($1, $2, $3, $4, $5::uuid, $6::uuid, $7, $8, $9, $10, now())
     ON CONFLICT (report_key, seq) DO NOTHING RETURNING id::text`,
    [r.reportKey, r.seq, r.type, r.channel, r.target.customerId, r.target.messageId, r.target.addressHash, r.code, r.detail, r.bodyEnc],
  );
  return rows[0]?.id ?? null;
}

/** A message event that is not a status change (soft_bounced, complained, reply, auto_replied); true when written. */
export async function addMessageEvent(q: pg.PoolClient, messageId: string, type: string, detail: string | null, oncePerMessage = false): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO message_events (message_id, customer_id, type, detail, created_at)
     SELECT m.id, m.customer_id, $2, $3, now() FROM messages m
      WHERE m.id = $1::uuid AND NOT ($4 AND EXISTS (SELECT 1 FROM message_events e WHERE e.message_id = m.id AND e.type = $2))`,
    [messageId, type, detail, oncePerMessage],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * The campaign counter of a message's first complaint (campaign_stats bucket `complained`, read as
 * `counts.complained`); status buckets are kept by the trigger on messages, this one is not a status.
 */
export async function countComplaint(q: pg.PoolClient, messageId: string): Promise<void> {
  await q.query(
    `INSERT INTO campaign_stats AS s (campaign_id, persona, bucket, shard, n)
     SELECT m.campaign_id, COALESCE(m.persona_key, ''), 'complained', (pg_backend_pid() % 4)::smallint, 1
       FROM messages m WHERE m.id = $1::uuid AND m.campaign_id IS NOT NULL
     ON CONFLICT (campaign_id, persona, bucket, shard) DO UPDATE SET n = s.n + 1`,
    [messageId],
  );
}

/** Suppresses the address (the first reason stays). True when it was not suppressed before. */
export async function suppress(q: pg.PoolClient, addressHash: string, reason: string, detail: string | null): Promise<boolean> {
  const { rowCount } = await q.query(
    "INSERT INTO suppressions (address_hash, reason, detail, created_at) VALUES ($1, $2, $3, now()) ON CONFLICT (address_hash) DO NOTHING",
    [addressHash, reason, detail],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * Soft bounces of the address within the window, one per message (a message's repeated reports, or
 * its delay notices, count once); reports naming no message count one each.
 */
export async function softBounceCount(q: pg.PoolClient, addressHash: string, windowDays: number): Promise<number> {
  // Serialises counting per address: two reports at once must not both miss the limit.
  await q.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`soft-bounce|${addressHash}`]);
  const { rows } = await q.query<{ n: number }>(
    `SELECT count(DISTINCT COALESCE(message_id::text, report_key))::int AS n FROM inbound_events
      WHERE address_hash = $1 AND type = 'soft_bounce' AND created_at > now() - make_interval(days => $2)`,
    [addressHash, windowDays],
  );
  return rows[0].n;
}

export interface ReplyRow {
  id: string;
  type: string;
  code: string | null;
  body_enc: string | null;
  created_at: Date;
  data_key: Buffer | null;
}

/** Replies and auto-replies to a message, oldest first, with the key that opens their text. */
export async function repliesOf(messageId: string): Promise<{ exists: boolean; rows: ReplyRow[] }> {
  const { rows } = await pool.query<ReplyRow & { exists: boolean }>(
    `SELECT k.exists, i.id::text AS id, i.type, i.code, i.body_enc, i.created_at, c.data_key
       FROM (SELECT EXISTS (SELECT 1 FROM messages WHERE id = $1::uuid) AS exists) k
       LEFT JOIN inbound_events i ON k.exists AND i.message_id = $1::uuid AND i.type IN ('reply', 'auto_reply')
       LEFT JOIN customers c ON c.id = i.customer_id
      ORDER BY i.id`,
    [messageId],
  );
  return { exists: rows[0]?.exists ?? false, rows: rows.filter((r) => r.id !== null) };
}
