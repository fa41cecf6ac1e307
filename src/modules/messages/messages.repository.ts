// SQL of the send API. Raw pg on the acceptance path: it is hot (one resolve, then accept.ts's
// eligibility check and insert per request) and Prisma would add ~0.5 ms per round trip.
import { type Queryable } from "../../platform/sql.ts";
import { newId } from "../../platform/ids.ts";
import { pool } from "../../platform/prisma.ts";

export interface Resolved {
  customerId: string | null;
  persona: string | null;
  topicId: string | null;
  topicKind: "marketing" | "transactional" | null;
  templateVersionId: string | null;
  version: number | null;
}

export type RecipientLookup = { by: "id"; value: string } | { by: "externalId"; value: string } | { by: "emailHash"; value: string };

export interface SendRef {
  to: RecipientLookup;
  topicKey: string;
  templateKey: string;
  version: number | null;
}

/**
 * Customer, persona, topic and pinned template version of many send requests in one round trip
 * (eligibility: accept.ts), in input order. Each recipient lookup runs only for its kind (the
 * `x.by = ...` filters are evaluated before the scans), each by its own index.
 */
export async function resolveSends(refs: SendRef[]): Promise<Resolved[]> {
  if (refs.length === 0) return [];
  const col = <T>(f: (r: SendRef) => T) => refs.map(f);
  const { rows } = await pool.query({
    name: "messages-resolve-batch",
    text: `SELECT x.n, c.id AS customer_id, p.key AS persona, t.id AS topic_id, t.kind AS topic_kind,
            v.id AS template_version_id, v.version
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[]) WITH ORDINALITY AS x(by, value, topic_key, template_key, version, n)
       LEFT JOIN LATERAL (
         SELECT id, persona_id, rule_persona_id FROM customers WHERE x.by = 'id' AND id = CASE WHEN x.by = 'id' THEN x.value::uuid END
         UNION ALL
         SELECT id, persona_id, rule_persona_id FROM customers WHERE x.by = 'externalId' AND external_id = x.value AND erased_at IS NULL
         UNION ALL
         SELECT id, persona_id, rule_persona_id FROM customers WHERE x.by = 'emailHash' AND email_hash = x.value AND erased_at IS NULL
         LIMIT 1) c ON true
       LEFT JOIN personas p ON p.id = COALESCE(c.persona_id, c.rule_persona_id)
       LEFT JOIN topics t ON t.key = x.topic_key
       LEFT JOIN LATERAL (SELECT v.id, v.version FROM template_versions v JOIN templates tp ON tp.id = v.template_id
                           WHERE tp.key = x.template_key AND (x.version IS NULL OR v.version = x.version)
                           ORDER BY v.version DESC LIMIT 1) v ON true
      ORDER BY x.n`,
    values: [col((r) => r.to.by), col((r) => r.to.value), col((r) => r.topicKey), col((r) => r.templateKey), col((r) => r.version)],
  });
  return rows.map((r) => ({
    customerId: r.customer_id, persona: r.persona, topicId: r.topic_id, topicKind: r.topic_kind,
    templateVersionId: r.template_version_id, version: r.version,
  }));
}

export interface InsertedMessage {
  id: string;
  customerId: string;
  status: "queued" | "suppressed";
  reason: string | null;
  sendAt: Date | null;
  createdAt: Date;
}

export interface NewMessage {
  customerId: string;
  personaKey: string | null;
  status: "queued" | "suppressed";
  reason: string | null;
  data?: Record<string, unknown>;
  idempotencyKey?: string | null;
  requestHash?: string | null;
  sendAt?: Date | null;
}

/**
 * Inserts a batch of messages for one topic and template version and their first events
 * (`accepted` or `suppressed`) in one statement. A row whose unique key is taken (idempotency key;
 * campaign and customer) is skipped: its slot in the result is null.
 */
export async function insertMessages(
  common: { topicId: string; templateVersionId: string; campaignId: string | null },
  ms: NewMessage[],
): Promise<Array<InsertedMessage | null>> {
  if (ms.length === 0) return [];
  const ids = ms.map(() => newId());
  const col = <T>(f: (m: NewMessage) => T) => ms.map(f);
  const { rows } = await pool.query({
    name: "messages-insert-batch",
    text: `WITH v AS (
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::"MessageStatus"[], $5::text[], $6::jsonb[], $7::text[], $8::text[], $9::timestamptz[])
         AS v(id, customer_id, persona_key, status, reason, data, idempotency_key, request_hash, send_at)),
     m AS (
       INSERT INTO messages (id, customer_id, topic_id, template_version_id, campaign_id, persona_key, status, reason, data,
                             idempotency_key, request_hash, send_at, created_at, updated_at)
       SELECT v.id, v.customer_id, $10::uuid, $11::uuid, $12::uuid, v.persona_key, v.status, v.reason, v.data,
              v.idempotency_key, v.request_hash, v.send_at, now(), now() FROM v
       ON CONFLICT DO NOTHING
       RETURNING id, customer_id, status, reason, send_at, created_at),
     e AS (
       INSERT INTO message_events (message_id, customer_id, type, detail, created_at)
       SELECT id, customer_id, CASE WHEN status = 'suppressed' THEN 'suppressed' ELSE 'accepted' END, reason, created_at FROM m)
     SELECT id, customer_id, status, reason, send_at, created_at FROM m`,
    values: [
      ids, col((m) => m.customerId), col((m) => m.personaKey), col((m) => m.status), col((m) => m.reason),
      col((m) => JSON.stringify(m.data ?? {})), col((m) => m.idempotencyKey ?? null), col((m) => m.requestHash ?? null),
      col((m) => m.sendAt ?? null), common.topicId, common.templateVersionId, common.campaignId,
    ],
  });
  const byId = new Map(rows.map((r) => [r.id as string, r]));
  return ids.map((id) => {
    const r = byId.get(id);
    return r ? { id, customerId: r.customer_id, status: r.status, reason: r.reason, sendAt: r.send_at, createdAt: r.created_at } : null;
  });
}

export interface MessageRow {
  id: string;
  status: string;
  reason: string | null;
  customer_id: string;
  campaign_id: string | null;
  template: string;
  version: number;
  persona_key: string | null;
  consent_event_id: string | null;
  rendered_persona_key: string | null;
  rendered_variant: string | null;
  topic: string;
  attempts: number;
  request_hash: string | null;
  created_at: Date;
  sent_at: Date | null;
  updated_at: Date;
}

const selectMessage = `
  SELECT m.id, m.status, m.reason, m.customer_id, m.campaign_id, tp.key AS template, v.version, m.persona_key,
         m.consent_event_id::text AS consent_event_id, m.rendered_persona_key, m.rendered_variant,
         t.key AS topic, m.attempts, m.request_hash, m.created_at, m.sent_at, m.updated_at
    FROM messages m
    JOIN topics t ON t.id = m.topic_id
    JOIN template_versions v ON v.id = m.template_version_id
    JOIN templates tp ON tp.id = v.template_id`;

export async function findMessage(id: string, q: Queryable = pool): Promise<MessageRow | null> {
  const { rows } = await q.query<MessageRow>(`${selectMessage} WHERE m.id = $1::uuid`, [id]);
  return rows[0] ?? null;
}

export async function findByIdempotencyKey(key: string): Promise<MessageRow | null> {
  const { rows } = await pool.query<MessageRow>(`${selectMessage} WHERE m.idempotency_key = $1`, [key]);
  return rows[0] ?? null;
}

export async function messageEvents(id: string, q: Queryable = pool) {
  const { rows } = await q.query<{ type: string; url: string | null; detail: string | null; created_at: Date }>(
    "SELECT type, url, detail, created_at FROM message_events WHERE message_id = $1::uuid ORDER BY id",
    [id],
  );
  return rows;
}

/** Newest first; the cursor is the last id returned. */
export async function listMessages(f: { customerId?: string; campaignId?: string; status?: string; before?: string; limit: number }) {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    where.push(sql.replace("?", `$${params.length}`));
  };
  if (f.customerId) add("m.customer_id = ?::uuid", f.customerId);
  if (f.campaignId) add("m.campaign_id = ?::uuid", f.campaignId);
  if (f.status) add("m.status = ?", f.status);
  if (f.before) add("m.id < ?::uuid", f.before);
  params.push(f.limit + 1);
  const { rows } = await pool.query<MessageRow>(
    `${selectMessage} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY m.id DESC LIMIT $${params.length}`,
    params,
  );
  return rows;
}
