// Batched SQL of the delivery worker: claim a batch with a status lock, load what rendering needs,
// and record outcomes of many messages (status, attempt count, event rows, suppressions) per statement.
// The one owner of message status after acceptance: every change of `messages.status` is written
// here, with its message_events row (the claim, a lock, is the exception: see messages/CONTEXT.md).
import { pool } from "../../platform/prisma.ts";
import type { Queryable } from "../../platform/sql.ts";
import type { RenderCustomer, RenderTemplateVersion } from "../../templates/render.types.ts";

export interface ClaimedMessage {
  id: string;
  customerId: string;
  templateVersionId: string;
  /** The campaign it belongs to, if any: a stop of that campaign fences its hand-off too. */
  campaignId: string | null;
  /** The campaign's own rate limit, if it has one. */
  campaignRatePerMinute: number | null;
  data: Record<string, unknown>;
  /** SMTP attempts made before this one. */
  attempts: number;
  /**
   * The claim's identity (claimed_at, exact text). Outcomes only apply while the row still carries it,
   * so a worker whose claim expired and was taken over cannot overwrite the new owner's row.
   */
  claim: string;
  /** Local clock at the claim: a message whose claim is too old is not handed to SMTP any more. */
  claimedAtMs: number;
  customer: RenderCustomer & { email: string | null; emailHash: string | null };
  topic: { id: string; key: string; name: string; kind: "marketing" | "transactional" };
}

/*
 * byIdNotByStatus. The claim and the outcome write find their rows by primary key, and compare the
 * status as text so that the (status, send_at) index cannot drive them. Its statistics lag behind a
 * status that thousands of rows enter and leave each second: planned on statistics that saw few
 * rows `queued` or `sending`, the statements scanned every entry of that status (the whole backlog,
 * 10,000-80,000 in the benchmarks, and their dead versions) and intersected it with the batch, on
 * every call. By primary key the cost follows the batch. Checked with auto_explain under
 * bench/send.ts; test/delivery-plans.test.ts keeps it so.
 */

/** The claim (claimMessages); exported for test/delivery-plans.test.ts. */
export const CLAIM_SQL = `WITH c AS (
       UPDATE messages m SET status = 'sending', claimed_at = now(), updated_at = now()
        -- status::text: see byIdNotByStatus above.
        WHERE m.id = ANY($1::uuid[]) AND m.status::text = 'queued'
          AND (m.send_at IS NULL OR m.send_at <= now() + interval '2 seconds')
          -- A paused, canceled or finished campaign's messages stay queued (resume re-enqueues them).
          AND (m.campaign_id IS NULL OR EXISTS (SELECT 1 FROM campaigns k WHERE k.id = m.campaign_id AND k.status = 'running'))
       RETURNING m.id, m.customer_id, m.topic_id, m.template_version_id, m.campaign_id, m.data, m.attempts, m.claimed_at::text AS claim)
     SELECT c.*, cu.email, cu.email_hash, cu.name, cu.locale, cu.timezone, cu.attributes,
            t.key AS topic_key, t.name AS topic_name, t.kind AS topic_kind, k.rate_limit_per_minute
       FROM c
       JOIN customers cu ON cu.id = c.customer_id
       JOIN topics t ON t.id = c.topic_id
       LEFT JOIN campaigns k ON k.id = c.campaign_id
      ORDER BY c.id`;

/**
 * `queued` -> `sending` for the due rows among ids. The row lock of the UPDATE makes the claim
 * exclusive: a concurrent claimer re-evaluates `status = 'queued'` after the first commits and skips.
 * A small tolerance on send_at absorbs clock skew between Redis (delayed jobs) and PostgreSQL.
 */
export async function claimMessages(ids: string[]): Promise<ClaimedMessage[]> {
  if (ids.length === 0) return [];
  // Named: prepared once per connection (PostgreSQL parses and plans the hot statements only once).
  const { rows } = await pool.query({
    name: "delivery-claim",
    text: CLAIM_SQL,
    values: [ids],
  });
  const claimedAtMs = Date.now();
  return rows.map((r) => ({
    id: r.id,
    claim: r.claim,
    claimedAtMs,
    customerId: r.customer_id,
    templateVersionId: r.template_version_id,
    campaignId: r.campaign_id,
    campaignRatePerMinute: r.rate_limit_per_minute,
    data: r.data ?? {},
    attempts: r.attempts,
    customer: {
      id: r.customer_id, email: r.email, emailHash: r.email_hash, name: r.name, locale: r.locale,
      timezone: r.timezone, attributes: r.attributes ?? {},
    },
    topic: { id: r.topic_id, key: r.topic_key, name: r.topic_name, kind: r.topic_kind },
  }));
}

// Template versions are immutable: cached per process by id.
const versions = new Map<string, RenderTemplateVersion>();

export async function templateVersions(ids: string[]): Promise<Map<string, RenderTemplateVersion>> {
  const missing = [...new Set(ids)].filter((id) => !versions.has(id));
  if (missing.length > 0) {
    if (versions.size > 2000) versions.clear();
    const { rows } = await pool.query(
      `SELECT v.id, tp.key, v.version, v.subject, v.html, v.text, v.variants
         FROM template_versions v JOIN templates tp ON tp.id = v.template_id WHERE v.id = ANY($1::uuid[])`,
      [missing],
    );
    for (const r of rows) {
      versions.set(r.id, { id: r.id, key: r.key, version: r.version, subject: r.subject, html: r.html, text: r.text, variants: r.variants ?? [] });
    }
  }
  return new Map(ids.flatMap((id) => (versions.has(id) ? [[id, versions.get(id)!] as const] : [])));
}

export type OutcomeKind = "sent" | "failed" | "bounced" | "retry" | "suppressed" | "release";

export interface Outcome {
  id: string;
  kind: OutcomeKind;
  /** ClaimedMessage.claim: the outcome applies only to that claim. */
  claim: string;
  /** Suppression reason (suppressed). */
  reason?: string;
  /** SMTP diagnostic or error, without addresses. */
  detail?: string;
  /** Whether an SMTP attempt was made (counts in `attempts`). */
  attempted?: boolean;
  /** When a retry is due. */
  retryAt?: Date;
  /** Address to suppress (bounced). */
  addressHash?: string | null;
  /** What an SMTP attempt relied on: consent ledger row (marketing), persona and variant rendered. */
  proof?: { consentEventId: string | null; personaKey: string | null; variant: string | null };
}

const statusOf: Record<OutcomeKind, string> = {
  sent: "sent", failed: "failed", bounced: "bounced", retry: "queued", suppressed: "suppressed", release: "queued",
};
const eventOf: Record<OutcomeKind, string | null> = {
  sent: "sent", failed: "failed", bounced: "bounced", retry: "attempt_failed", suppressed: "suppressed", release: null,
};

/**
 * Applies outcomes to rows still in `sending` under the same claim (one statement for the whole batch)
 * and returns the ids it updated. Rows that left `sending` or were claimed again after the sweep
 * released them are left alone.
 */
export async function writeOutcomes(outcomes: Outcome[], q: Queryable = pool): Promise<Set<string>> {
  return (await writeOutcomesWithEvents(outcomes, q)).updated;
}

/** The outcome write (writeOutcomesWithEvents); exported for test/delivery-plans.test.ts. */
export const OUTCOME_SQL = `WITH v AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::timestamptz[], $9::timestamptz[],
                            $10::bigint[], $11::text[], $12::text[])
         AS v(id, status, reason, event, detail, inc, send_at, claim, consent_event_id, persona_key, variant)),
     u AS (
       UPDATE messages m SET
         status = v.status::"MessageStatus",
         reason = v.reason,
         sent_at = CASE WHEN v.status = 'sent' THEN now() ELSE m.sent_at END,
         attempts = m.attempts + v.inc,
         last_error = CASE WHEN v.status = 'sent' THEN m.last_error ELSE COALESCE(v.detail, m.last_error) END,
         send_at = CASE WHEN v.status = 'queued' AND v.send_at IS NOT NULL THEN v.send_at ELSE m.send_at END,
         claimed_at = NULL,
         consent_event_id = CASE WHEN v.inc = 1 THEN v.consent_event_id ELSE m.consent_event_id END,
         rendered_persona_key = CASE WHEN v.inc = 1 THEN v.persona_key ELSE m.rendered_persona_key END,
         rendered_variant = CASE WHEN v.inc = 1 THEN v.variant ELSE m.rendered_variant END,
         updated_at = now()
       -- status::text: see byIdNotByStatus above.
       FROM v WHERE m.id = v.id AND m.status::text = 'sending' AND m.claimed_at = v.claim
       RETURNING m.id, m.customer_id, m.campaign_id, m.topic_id, m.status, m.attempts, m.last_error),
     e AS (
       INSERT INTO message_events (message_id, customer_id, type, detail, created_at)
       SELECT u.id, u.customer_id, v.event, v.detail, now() FROM u JOIN v ON v.id = u.id WHERE v.event IS NOT NULL),
     s AS (
       INSERT INTO suppressions (address_hash, reason, detail, created_at)
       SELECT h, 'hard_bounce', 'smtp', now() FROM unnest($8::text[]) AS h
       ON CONFLICT (address_hash) DO NOTHING),
     w AS (
       INSERT INTO webhook_deliveries (webhook_id, event_type, body)
       SELECT wh.id, x.type, json_build_object('type', x.type, 'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                'data', json_build_object('messageId', u.id, 'customerId', u.customer_id, 'campaignId', u.campaign_id, 'topicId', u.topic_id,
                                          'attempts', u.attempts, 'diagnostic', CASE WHEN u.status <> 'sent' THEN u.last_error END))::text
         FROM u CROSS JOIN LATERAL (SELECT 'message.' || u.status::text AS type) x
         JOIN webhooks wh ON wh.disabled_at IS NULL AND x.type = ANY(wh.events)
        WHERE u.status IN ('sent', 'failed', 'bounced')
       RETURNING id)
     SELECT id, false AS delivery FROM u UNION ALL SELECT id, true FROM w`;

/** OUTCOME_SQL's parameters for these outcomes. */
export function outcomeParams(outcomes: Outcome[]): unknown[] {
  const col = <T>(f: (o: Outcome) => T) => outcomes.map(f);
  return [
    col((o) => o.id),
    col((o) => statusOf[o.kind]),
    col((o) => (o.kind === "suppressed" ? o.reason ?? null : null)),
    col((o) => eventOf[o.kind]),
    col((o) => (o.kind === "suppressed" ? o.reason ?? null : o.detail ?? null)),
    col((o) => (o.attempted ? 1 : 0)),
    col((o) => o.retryAt ?? null),
    [...new Set(outcomes.filter((o) => o.kind === "bounced" && o.addressHash).map((o) => o.addressHash!))],
    col((o) => o.claim),
    col((o) => o.proof?.consentEventId ?? null),
    col((o) => o.proof?.personaKey ?? null),
    col((o) => o.proof?.variant ?? null),
  ];
}

/**
 * writeOutcomes, also returning the webhook deliveries (message.sent, message.failed,
 * message.bounced) the same statement recorded for subscribed endpoints, for the caller to enqueue:
 * an event exists exactly when its status change does. The body has eventBody()'s shape
 * ({type, timestamp, data}; webhooks/emit.ts), built here so that no extra round trip is needed.
 */
export async function writeOutcomesWithEvents(outcomes: Outcome[], q: Queryable = pool): Promise<{ updated: Set<string>; deliveries: string[] }> {
  if (outcomes.length === 0) return { updated: new Set(), deliveries: [] };
  const { rows } = await q.query<{ id: string; delivery: boolean }>({ name: "delivery-outcomes", text: OUTCOME_SQL, values: outcomeParams(outcomes) });
  return { updated: new Set(rows.filter((r) => !r.delivery).map((r) => r.id)), deliveries: rows.filter((r) => r.delivery).map((r) => r.id) };
}

/**
 * The sweep's half of crash recovery: claims older than timeoutMs go back to `queued` (their worker
 * died between claiming and recording), with an `attempt_failed` event. Returns their ids.
 */
export async function releaseExpiredClaims(timeoutMs: number, limit: number): Promise<SweptRow[]> {
  const { rows } = await pool.query<SweptRow>(
    `WITH r AS (
       UPDATE messages m SET status = 'queued', claimed_at = NULL, updated_at = now()
        WHERE m.id IN (SELECT id FROM messages WHERE status = 'sending' AND claimed_at < now() - make_interval(secs => $1::double precision / 1000)
                        ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
          AND m.status = 'sending'
       RETURNING m.id, m.customer_id, m.campaign_id),
     e AS (
       INSERT INTO message_events (message_id, customer_id, type, detail, created_at)
       SELECT id, customer_id, 'attempt_failed', 'claim expired: the worker stopped before recording an outcome', now() FROM r)
     SELECT id, campaign_id IS NOT NULL AS campaign FROM r`,
    [timeoutMs, limit],
  );
  return rows;
}

/** A row the sweep gives back to delivery, with its lane. */
export interface SweptRow {
  id: string;
  campaign: boolean;
}

/**
 * Queued rows (status unchanged) due and untouched since well before the oldest job still waiting was
 * added: their job is gone. Touching updated_at makes the sweep's new job the row's live one. Keyset
 * by id from `after`. Returns their ids.
 */
export async function touchStrandedQueued(o: { marginMs: number; oldestJobAt: number; after: string; limit: number }): Promise<SweptRow[]> {
  const { rows } = await pool.query<SweptRow>(
    `UPDATE messages m SET updated_at = now()
      WHERE m.id IN (SELECT id FROM messages
                      WHERE status = 'queued' AND id > $3::uuid
                        AND updated_at < to_timestamp($2::double precision / 1000) - make_interval(secs => $1::double precision / 1000)
                        AND (send_at IS NULL OR send_at < now() - make_interval(secs => $1::double precision / 1000))
                        -- A paused campaign's messages wait for resume, which enqueues them again.
                        AND (campaign_id IS NULL OR EXISTS (SELECT 1 FROM campaigns k WHERE k.id = campaign_id AND k.status = 'running'))
                      ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
        AND m.status = 'queued'
      RETURNING m.id, m.campaign_id IS NOT NULL AS campaign`,
    [o.marginMs, o.oldestJobAt, o.after || "00000000-0000-0000-0000-000000000000", o.limit],
  );
  return rows;
}

/**
 * Queued messages of a customer (erasure) or a campaign (cancel) become `suppressed` with the reason,
 * each with a `suppressed` event; up to `limit` rows per call (callers loop for large campaigns).
 * Rows in `sending` are left to their worker: its hand-off gate refuses them.
 */
export async function suppressQueued(
  q: Queryable,
  where: { customerId: string } | { campaignId: string },
  reason: string,
  limit = 10_000,
): Promise<number> {
  const col = "customerId" in where ? "customer_id" : "campaign_id";
  const { rows } = await q.query<{ n: number }>(
    `WITH u AS (
       UPDATE messages m SET status = 'suppressed', reason = $2, claimed_at = NULL, updated_at = now()
        WHERE m.id IN (SELECT id FROM messages WHERE ${col} = $1::uuid AND status = 'queued' ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
          AND m.status = 'queued'
       RETURNING m.id, m.customer_id),
     e AS (
       INSERT INTO message_events (message_id, customer_id, type, detail, created_at)
       SELECT id, customer_id, 'suppressed', $2, now() FROM u)
     SELECT count(*)::int AS n FROM u`,
    ["customerId" in where ? where.customerId : where.campaignId, reason, limit],
  );
  return rows[0]?.n ?? 0;
}

/**
 * A bounce reported after SMTP accepted the message (a DSN, an API report): `sent` -> `bounced` with
 * its `bounced` event, in the caller's transaction. False when the message was not `sent` (already
 * bounced by an earlier report, or never handed over): nothing changes then.
 */
export async function markBounced(q: Queryable, messageId: string, detail: string | null): Promise<boolean> {
  const { rows } = await q.query<{ id: string }>(
    `WITH u AS (
       UPDATE messages SET status = 'bounced', last_error = COALESCE($2, last_error), updated_at = now()
        WHERE id = $1::uuid AND status = 'sent'
       RETURNING id, customer_id),
     e AS (
       INSERT INTO message_events (message_id, customer_id, type, detail, created_at)
       SELECT id, customer_id, 'bounced', $2, now() FROM u)
     SELECT id FROM u`,
    [messageId, detail],
  );
  return rows.length > 0;
}
