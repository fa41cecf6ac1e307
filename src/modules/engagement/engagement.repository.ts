// SQL of the engagement writer (one statement per step for a whole batch) and of the readers.
import type pg from "pg";
import { pool } from "../../platform/prisma.ts";
import { values, type Queryable } from "../../platform/sql.ts";

export interface MessageFacts {
  id: string;
  customer_id: string;
  sent_at: Date | null;
  campaign_id: string | null;
  persona_key: string | null;
  data_key: Buffer | null;
}

export async function messageFacts(ids: string[]): Promise<Map<string, MessageFacts>> {
  const { rows } = await pool.query<MessageFacts>(
    `SELECT m.id, m.customer_id, m.sent_at, m.campaign_id, m.persona_key, c.data_key
       FROM messages m JOIN customers c ON c.id = m.customer_id
      WHERE m.id = ANY($1::uuid[]) AND c.erased_at IS NULL`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r]));
}

/** Stored clicks of these messages since `since` (for the several-links-within-a-second rule). */
export async function recentClicks(ids: string[], since: Date) {
  const { rows } = await pool.query<{ message_id: string; link_index: number; at: Date }>(
    "SELECT message_id, link_index, at FROM engagement_events WHERE message_id = ANY($1::uuid[]) AND type = 'click' AND at >= $2",
    [ids, since],
  );
  return rows.map((r) => ({ messageId: r.message_id, linkIndex: r.link_index, at: r.at.getTime() }));
}

export interface EventRow {
  messageId: string; customerId: string; type: "open" | "click"; linkIndex: number | null; method: string;
  machine: boolean; rule: string; ipEnc: string | null; uaEnc: string | null; at: Date;
}

export async function insertEvents(c: pg.PoolClient, rows: EventRow[]): Promise<void> {
  const v = values(
    rows.map((r) => [r.messageId, r.customerId, r.type, r.linkIndex, r.method, r.machine, r.rule, r.ipEnc, r.uaEnc, r.at]),
    ["::uuid", "::uuid", "", "::int", "", "::boolean", "", "", "", "::timestamptz"],
  );
  await c.query(
    `INSERT INTO engagement_events (message_id, customer_id, type, link_index, method, machine, rule, ip_enc, user_agent_enc, at) VALUES ${v.sql}`,
    v.params,
  );
}

export interface Counts {
  messageId: string;
  opens: number;
  clicks: number;
  machineOpens: number;
  machineClicks: number;
}

/** Adds the batch's counts per message; returns the counts before and after, for transitions. */
export async function addCounts(c: pg.PoolClient, deltas: Counts[]): Promise<Array<{ before: Counts; after: Counts }>> {
  const v = values(deltas.map((d) => [d.messageId, d.opens, d.clicks, d.machineOpens, d.machineClicks]), ["::uuid", "::int", "::int", "::int", "::int"]);
  const { rows } = await c.query<{ message_id: string; opens: number; clicks: number; machine_opens: number; machine_clicks: number }>(
    `INSERT INTO message_engagement AS me (message_id, opens, clicks, machine_opens, machine_clicks, first_open_at, first_click_at)
     SELECT v.id, v.o, v.c, v.mo, v.mc, CASE WHEN v.o + v.c > 0 THEN now() END, CASE WHEN v.c > 0 THEN now() END
       FROM (VALUES ${v.sql}) AS v(id, o, c, mo, mc)
     ON CONFLICT (message_id) DO UPDATE SET
       opens = me.opens + EXCLUDED.opens, clicks = me.clicks + EXCLUDED.clicks,
       machine_opens = me.machine_opens + EXCLUDED.machine_opens, machine_clicks = me.machine_clicks + EXCLUDED.machine_clicks,
       first_open_at = COALESCE(me.first_open_at, EXCLUDED.first_open_at), first_click_at = COALESCE(me.first_click_at, EXCLUDED.first_click_at),
       updated_at = now()
     RETURNING message_id, opens, clicks, machine_opens, machine_clicks`,
    v.params,
  );
  const byId = new Map(deltas.map((d) => [d.messageId, d]));
  return rows.map((r) => {
    const d = byId.get(r.message_id)!;
    const after = { messageId: r.message_id, opens: r.opens, clicks: r.clicks, machineOpens: r.machine_opens, machineClicks: r.machine_clicks };
    const before = { messageId: r.message_id, opens: r.opens - d.opens, clicks: r.clicks - d.clicks, machineOpens: r.machine_opens - d.machineOpens, machineClicks: r.machine_clicks - d.machineClicks };
    return { before, after };
  });
}

/** A message's counts for readers; a human click implies a human open. */
export async function messageEngagement(messageId: string, q: Queryable = pool) {
  const { rows } = await q.query<{ opens: number; clicks: number; machine_opens: number; machine_clicks: number; unsubscribed: number; complained: number }>(
    `SELECT COALESCE(me.opens, 0) AS opens, COALESCE(me.clicks, 0) AS clicks,
            COALESCE(me.machine_opens, 0) AS machine_opens, COALESCE(me.machine_clicks, 0) AS machine_clicks,
            (SELECT count(*)::int FROM message_events e WHERE e.message_id = $1::uuid AND e.type = 'unsubscribed') AS unsubscribed,
            (SELECT count(*)::int FROM message_events e WHERE e.message_id = $1::uuid AND e.type = 'complained') AS complained
       FROM (SELECT $1::uuid AS id) x LEFT JOIN message_engagement me ON me.message_id = x.id`,
    [messageId],
  );
  const r = rows[0];
  return {
    opened: r.opens > 0 ? r.opens : r.clicks > 0 ? 1 : 0,
    clicked: r.clicks,
    machineOpened: r.machine_opens,
    machineClicked: r.machine_clicks,
    unsubscribed: r.unsubscribed,
    complained: r.complained,
  };
}

/** Raw events of a message, oldest first (no IP or user agent). */
export async function engagementEventsOf(messageId: string, q: Queryable = pool) {
  const { rows } = await q.query<{ type: string; link_index: number | null; machine: boolean; rule: string; at: Date; url: string | null }>(
    `SELECT e.type, e.link_index, e.machine, e.rule, e.at, CASE WHEN e.link_index >= 0 THEN m.links[e.link_index + 1] END AS url
       FROM engagement_events e JOIN messages m ON m.id = e.message_id
      WHERE e.message_id = $1::uuid ORDER BY e.at, e.id`,
    [messageId],
  );
  return rows;
}
