// SQL of the send API. Raw pg on the acceptance path: it is hot (one resolve, one eligibility check,
// one insert per request) and Prisma would add ~0.5 ms per round trip.
import { newId } from "../../platform/ids.ts";
import { eligibilityColumns, eligibilityJoin, type EligibilityRow } from "../consent/eligibility.ts";
import { pool } from "../../platform/prisma.ts";

export interface Resolved {
  customerId: string | null;
  persona: string | null;
  topicId: string | null;
  topicKind: "marketing" | "transactional" | null;
  templateVersionId: string | null;
  version: number | null;
  /** The customer's eligibility inputs for this topic (see consent/eligibility.ts). */
  eligibility: EligibilityRow;
}

export type RecipientLookup = { by: "id"; value: string } | { by: "externalId"; value: string } | { by: "emailHash"; value: string };

const recipientWhere = {
  id: "id = $1::uuid",
  externalId: "external_id = $1 AND erased_at IS NULL",
  emailHash: "email_hash = $1 AND erased_at IS NULL",
} as const;

/** Customer, persona, topic, pinned template version and eligibility in one round trip. */
export async function resolveSend(to: RecipientLookup, topicKey: string, templateKey: string, version: number | null): Promise<Resolved> {
  const { rows } = await pool.query({
    name: `messages-resolve-${to.by}`,
    text: `SELECT c.id AS customer_id, p.key AS persona, t.id AS topic_id, t.kind AS topic_kind,
            v.id AS template_version_id, v.version, ${eligibilityColumns("c")}
       FROM (SELECT 1) one
       LEFT JOIN LATERAL (SELECT id, email, email_hash, erased_at, persona_id, rule_persona_id FROM customers
                           WHERE ${recipientWhere[to.by]} LIMIT 1) c ON true
       LEFT JOIN personas p ON p.id = COALESCE(c.persona_id, c.rule_persona_id)
       LEFT JOIN topics t ON t.key = $2
       ${eligibilityJoin("c", "t.id")}
       LEFT JOIN LATERAL (SELECT v.id, v.version FROM template_versions v JOIN templates tp ON tp.id = v.template_id
                           WHERE tp.key = $3 AND ($4::int IS NULL OR v.version = $4::int)
                           ORDER BY v.version DESC LIMIT 1) v ON true`,
    values: [to.value, topicKey, templateKey, version],
  });
  const r = rows[0];
  return {
    customerId: r.customer_id, persona: r.persona, topicId: r.topic_id, topicKind: r.topic_kind,
    templateVersionId: r.template_version_id, version: r.version,
    eligibility: { email: r.email, email_hash: r.email_hash, erased: r.erased, suppressed: r.suppressed, status: r.status },
  };
}

export interface NewMessage {
  customerId: string;
  topicId: string;
  templateVersionId: string;
  personaKey: string | null;
  status: "queued" | "suppressed";
  reason: string | null;
  data: Record<string, unknown>;
  idempotencyKey: string | null;
  requestHash: string | null;
}

/**
 * Inserts the message and its first event (`accepted` or `suppressed`) in one statement. Returns null
 * when another request with the same idempotency key won the race.
 */
export async function insertMessage(m: NewMessage): Promise<{ id: string; createdAt: Date } | null> {
  const { rows } = await pool.query({
    name: "messages-insert",
    text: `WITH m AS (
       INSERT INTO messages (id, customer_id, topic_id, template_version_id, persona_key, status, reason, data,
                             idempotency_key, request_hash, created_at, updated_at)
       VALUES ($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5, $6, $7, $8::jsonb, $9, $10, now(), now())
       ON CONFLICT (idempotency_key) DO NOTHING
       RETURNING id, customer_id, status, reason, created_at),
     e AS (
       INSERT INTO message_events (message_id, customer_id, type, detail, created_at)
       SELECT id, customer_id, CASE WHEN status = 'suppressed' THEN 'suppressed' ELSE 'accepted' END, reason, created_at FROM m)
     SELECT id, created_at FROM m`,
    values: [newId(), m.customerId, m.topicId, m.templateVersionId, m.personaKey, m.status, m.reason, JSON.stringify(m.data),
      m.idempotencyKey, m.requestHash],
  });
  return rows[0] ? { id: rows[0].id, createdAt: rows[0].created_at } : null;
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

export async function findMessage(id: string): Promise<MessageRow | null> {
  const { rows } = await pool.query<MessageRow>(`${selectMessage} WHERE m.id = $1::uuid`, [id]);
  return rows[0] ?? null;
}

export async function findByIdempotencyKey(key: string): Promise<MessageRow | null> {
  const { rows } = await pool.query<MessageRow>(`${selectMessage} WHERE m.idempotency_key = $1`, [key]);
  return rows[0] ?? null;
}

export async function messageEvents(id: string) {
  const { rows } = await pool.query<{ type: string; url: string | null; detail: string | null; created_at: Date }>(
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
