// SQL of the webhook delivery path, batched: one insert for all deliveries of a set of events, one
// claim per job, one write of all attempt outcomes of a job.
import type pg from "pg";
import { pool } from "../../platform/prisma.ts";
import { values } from "../../platform/sql.ts";

type Queryable = Pick<pg.Pool, "query"> | pg.PoolClient;

/** One delivery per event and enabled endpoint subscribed to its type; returns their ids. */
export async function insertDeliveries(q: Queryable, events: Array<{ type: string; body: string }>, onlyWebhookId?: string): Promise<string[]> {
  if (events.length === 0) return [];
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO webhook_deliveries (webhook_id, event_type, body)
     SELECT w.id, e.type, e.body FROM webhooks w
       JOIN unnest($1::text[], $2::text[]) WITH ORDINALITY AS e(type, body, n) ON ($3::uuid IS NOT NULL OR e.type = ANY(w.events))
      WHERE w.disabled_at IS NULL AND ($3::uuid IS NULL OR w.id = $3::uuid)
      ORDER BY e.n
     RETURNING id`,
    [events.map((e) => e.type), events.map((e) => e.body), onlyWebhookId ?? null],
  );
  return rows.map((r) => r.id);
}

export interface ClaimedDelivery {
  id: string;
  webhook_id: string;
  event_type: string;
  body: string;
  attempts: number;
  round_start: number;
  url: string;
  secret_enc: string;
  previous_secret_enc: string | null;
  previous_secret_expires_at: Date | null;
  disabled_at: Date | null;
}

/**
 * Takes the due, pending deliveries among ids: counts the attempt and pushes the due time past the
 * lease, so a duplicate job skips them and the sweep retries them if this worker dies.
 */
export async function claimDeliveries(ids: string[], leaseMs: number): Promise<ClaimedDelivery[]> {
  const { rows } = await pool.query<ClaimedDelivery>(
    `UPDATE webhook_deliveries d
        SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
       FROM webhooks w
      WHERE d.id = ANY($1::uuid[]) AND w.id = d.webhook_id AND d.status = 'pending'
        AND d.next_attempt_at <= now() + interval '2 seconds'
     RETURNING d.id, d.webhook_id, d.event_type, d.body, d.attempts, d.round_start,
               w.url, w.secret_enc, w.previous_secret_enc, w.previous_secret_expires_at, w.disabled_at`,
    [ids, leaseMs],
  );
  return rows;
}

export interface AttemptResult {
  id: string;
  webhookId: string;
  attempt: number;
  statusCode: number | null;
  outcome: string;
  response: string | null;
  durationMs: number;
  /** pending (retry at nextAttemptAt) | delivered | failed */
  status: "pending" | "delivered" | "failed";
  nextAttemptAt: Date | null;
}

/** Logs every attempt and settles the deliveries, in one transaction-free round of three statements. */
export async function recordAttempts(results: AttemptResult[]): Promise<void> {
  if (results.length === 0) return;
  const log = values(
    results.map((r) => [r.id, r.attempt, r.statusCode, r.outcome, r.response, r.durationMs, r.nextAttemptAt]),
    ["::uuid", "::int", "::int", "", "", "::int", "::timestamptz"],
  );
  await pool.query(
    `INSERT INTO webhook_attempts (delivery_id, attempt, status_code, outcome, response, duration_ms, next_attempt_at) VALUES ${log.sql}`,
    log.params,
  );
  const upd = values(results.map((r) => [r.id, r.status, r.statusCode, r.nextAttemptAt]), ["::uuid", "", "::int", "::timestamptz"]);
  await pool.query(
    `UPDATE webhook_deliveries d SET status = v.status, last_status = v.code, next_attempt_at = v.next,
            delivered_at = CASE WHEN v.status = 'delivered' THEN now() ELSE d.delivered_at END
       FROM (VALUES ${upd.sql}) AS v(id, status, code, next) WHERE d.id = v.id`,
    upd.params,
  );
}

/**
 * Endpoint health after a job: a success clears the failing streak; a failure starts one; 410 Gone,
 * or a streak older than disableAfterMs, disables the endpoint (and its pending deliveries fail).
 */
export async function updateEndpointHealth(ok: string[], failed: string[], gone: string[], disableAfterMs: number): Promise<void> {
  if (ok.length) await pool.query("UPDATE webhooks SET failing_since = NULL WHERE id = ANY($1::uuid[]) AND failing_since IS NOT NULL", [ok]);
  if (failed.length) {
    await pool.query(
      `UPDATE webhooks SET failing_since = COALESCE(failing_since, now()),
              disabled_at = CASE WHEN failing_since < now() - make_interval(secs => $2::double precision / 1000) THEN now() ELSE disabled_at END,
              disabled_reason = CASE WHEN failing_since < now() - make_interval(secs => $2::double precision / 1000) THEN 'failing' ELSE disabled_reason END
        WHERE id = ANY($1::uuid[]) AND disabled_at IS NULL`,
      [failed, disableAfterMs],
    );
  }
  if (gone.length) {
    await pool.query("UPDATE webhooks SET disabled_at = now(), disabled_reason = 'gone' WHERE id = ANY($1::uuid[]) AND disabled_at IS NULL", [gone]);
  }
}

/** Pending deliveries whose due time passed long ago: their job was lost (or their worker died). */
export async function overdueDeliveries(graceMs: number, limit: number): Promise<Array<{ id: string; attempts: number }>> {
  const { rows } = await pool.query<{ id: string; attempts: number }>(
    `SELECT id, attempts FROM webhook_deliveries
      WHERE status = 'pending' AND next_attempt_at < now() - make_interval(secs => $1::double precision / 1000)
      ORDER BY next_attempt_at LIMIT $2`,
    [graceMs, limit],
  );
  return rows;
}
