// Webhook endpoints (admin): register, list, change, delete, rotate the secret, send a test event,
// read the delivery log and replay a delivery.
import { randomBytes } from "node:crypto";
import type { Webhook } from "../../generated/prisma/client.ts";
import { AppError, conflict, notFound } from "../../platform/errors.ts";
import { decodeCursor, toPage } from "../../platform/pagination.ts";
import { db, pool } from "../../platform/prisma.ts";
import { encrypt } from "../../platform/secrets.ts";
import { enqueueDeliveries, eventBody } from "./emit.ts";
import { assertAllowedUrl } from "./ssrf.ts";
import { insertDeliveries } from "./webhooks.repository.ts";
import { TEST_EVENT, type CreateWebhook, type UpdateWebhook } from "./webhooks.schema.ts";

/** Old and new secret both sign deliveries this long after a rotation. */
export const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

const newSecret = () => `whsec_${randomBytes(32).toString("base64")}`;

export const webhookView = (w: Webhook) => ({
  id: w.id,
  url: w.url,
  events: w.events,
  enabled: w.disabledAt === null,
  disabledAt: w.disabledAt?.toISOString() ?? null,
  disabledReason: w.disabledReason,
  failingSince: w.failingSince?.toISOString() ?? null,
  previousSecretExpiresAt: w.previousSecretExpiresAt && w.previousSecretExpiresAt > new Date() ? w.previousSecretExpiresAt.toISOString() : null,
  createdAt: w.createdAt.toISOString(),
  updatedAt: w.updatedAt.toISOString(),
});

async function find(id: string): Promise<Webhook> {
  const w = await db.webhook.findUnique({ where: { id } });
  if (!w) throw notFound("Webhook", id);
  return w;
}

export async function createWebhook(input: CreateWebhook) {
  await assertAllowedUrl(input.url);
  const secret = newSecret();
  const w = await db.webhook.create({ data: { url: input.url, events: input.events, secretEnc: encrypt(secret) } });
  return { ...webhookView(w), secret };
}

export const getWebhook = async (id: string) => webhookView(await find(id));

export async function listWebhooks(limit: number, cursor?: string) {
  const after = decodeCursor(cursor);
  const rows = await db.webhook.findMany({ where: after ? { id: { gt: after } } : undefined, orderBy: { id: "asc" }, take: limit + 1 });
  return toPage(rows, limit, webhookView);
}

export async function updateWebhook(id: string, input: UpdateWebhook) {
  const w = await find(id);
  if (input.url !== undefined) await assertAllowedUrl(input.url);
  const enable = input.enabled === true && w.disabledAt !== null;
  const disable = input.enabled === false && w.disabledAt === null;
  const updated = await db.webhook.update({
    where: { id },
    data: {
      ...(input.url !== undefined ? { url: input.url } : {}),
      ...(input.events !== undefined ? { events: input.events } : {}),
      ...(enable ? { disabledAt: null, disabledReason: null, failingSince: null } : {}),
      ...(disable ? { disabledAt: new Date(), disabledReason: "manual" } : {}),
      updatedAt: new Date(),
    },
  });
  return webhookView(updated);
}

export async function deleteWebhook(id: string): Promise<void> {
  await find(id);
  await db.webhook.delete({ where: { id } });
}

/** A new secret, shown once; the current one keeps signing for ROTATION_OVERLAP_MS. */
export async function rotateSecret(id: string) {
  const w = await find(id);
  const secret = newSecret();
  const updated = await db.webhook.update({
    where: { id },
    data: { secretEnc: encrypt(secret), previousSecretEnc: w.secretEnc, previousSecretExpiresAt: new Date(Date.now() + ROTATION_OVERLAP_MS), updatedAt: new Date() },
  });
  return { ...webhookView(updated), secret };
}

export async function sendTestEvent(id: string) {
  const w = await find(id);
  if (w.disabledAt) throw conflict("The webhook is disabled; enable it first (PATCH with enabled: true)");
  const [deliveryId] = await insertDeliveries(pool, [{ type: TEST_EVENT, body: eventBody(TEST_EVENT, { webhookId: id }) }], id);
  await enqueueDeliveries([deliveryId], 0, "t");
  return getDelivery(id, deliveryId);
}

interface DeliveryRow {
  id: string; event_type: string; status: string; attempts: number; last_status: number | null;
  next_attempt_at: Date | null; created_at: Date; delivered_at: Date | null;
}
interface AttemptRow {
  delivery_id: string; attempt: number; status_code: number | null; outcome: string; response: string | null;
  duration_ms: number; next_attempt_at: Date | null; created_at: Date;
}

async function deliveryViews(rows: DeliveryRow[]) {
  const { rows: log } = await pool.query<AttemptRow>(
    "SELECT * FROM webhook_attempts WHERE delivery_id = ANY($1::uuid[]) ORDER BY delivery_id, attempt, id",
    [rows.map((r) => r.id)],
  );
  return rows.map((d) => ({
    id: d.id,
    event: d.event_type,
    status: d.status,
    attempts: d.attempts,
    lastStatusCode: d.last_status,
    nextAttemptAt: d.status === "pending" ? d.next_attempt_at?.toISOString() ?? null : null,
    createdAt: d.created_at.toISOString(),
    deliveredAt: d.delivered_at?.toISOString() ?? null,
    log: log.filter((a) => a.delivery_id === d.id).map((a) => ({
      attempt: a.attempt, statusCode: a.status_code, outcome: a.outcome, response: a.response, durationMs: a.duration_ms,
      nextAttemptAt: a.next_attempt_at?.toISOString() ?? null, at: a.created_at.toISOString(),
    })),
  }));
}

async function getDelivery(webhookId: string, deliveryId: string) {
  const { rows } = await pool.query<DeliveryRow>("SELECT * FROM webhook_deliveries WHERE id = $1::uuid AND webhook_id = $2::uuid", [deliveryId, webhookId]);
  if (!rows[0]) throw notFound("Delivery", deliveryId);
  return (await deliveryViews(rows))[0];
}

/** Newest first. Cursor: base64url("<created_at iso>|<id>") of the last delivery returned. */
export async function listDeliveries(webhookId: string, limit: number, cursor?: string) {
  await find(webhookId);
  let after: [Date, string] | null = null;
  if (cursor) {
    const [at, id, ...rest] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
    const d = new Date(at ?? "");
    if (rest.length || Number.isNaN(d.getTime()) || !decodeCursor(Buffer.from(id ?? "").toString("base64url"))) {
      throw new AppError("validation", "The cursor is not valid", { errors: [{ path: "cursor", message: "Invalid cursor" }] });
    }
    after = [d, id];
  }
  const { rows } = await pool.query<DeliveryRow>(
    `SELECT * FROM webhook_deliveries WHERE webhook_id = $1::uuid
        AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
      ORDER BY created_at DESC, id DESC LIMIT $4`,
    [webhookId, after?.[0] ?? null, after?.[1] ?? null, limit + 1],
  );
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    data: await deliveryViews(page),
    nextCursor: rows.length > limit && last ? Buffer.from(`${last.created_at.toISOString()}|${last.id}`).toString("base64url") : null,
  };
}

/** Sends a delivery again now, with a fresh round of the retry schedule; the log keeps counting. */
export async function replayDelivery(webhookId: string, deliveryId: string) {
  const w = await find(webhookId);
  if (w.disabledAt) throw conflict("The webhook is disabled; enable it first (PATCH with enabled: true)");
  const { rowCount } = await pool.query(
    `UPDATE webhook_deliveries SET status = 'pending', round_start = attempts, next_attempt_at = now()
      WHERE id = $1::uuid AND webhook_id = $2::uuid`,
    [deliveryId, webhookId],
  );
  if (!rowCount) throw notFound("Delivery", deliveryId);
  await enqueueDeliveries([deliveryId], 0, `p${Date.now().toString(36)}`);
  return getDelivery(webhookId, deliveryId);
}
