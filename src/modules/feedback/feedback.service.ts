// Feedback: what a customer tells us, optionally, when they unsubscribe or change their preferences.
// A touchpoint on their timeline, listed for marketers (GET /v1/feedback) and sent as a
// `feedback.received` webhook carrying ids and the reason label, never the comment (personal data).
// The comment is encrypted with the customer's data key: erasure destroys it (and clears the column).
import { newId } from "../../platform/ids.ts";
import { decodeCursor, toPage, type Page } from "../../platform/pagination.ts";
import { pool } from "../../platform/prisma.ts";
import { decrypt, encrypt } from "../../platform/secrets.ts";
import { onCommit, withTransaction } from "../../platform/sql.ts";
import { enqueueDeliveries, recordEvents } from "../webhooks/emit.ts";
import type { FeedbackFields, ListFeedbackQuery } from "./feedback.schema.ts";

export interface FeedbackInput extends FeedbackFields {
  customerId: string;
  source: "unsubscribe-page" | "preference-center";
  topicId?: string | null;
  messageId?: string | null;
}

export interface FeedbackView {
  id: string;
  customerId: string;
  source: string;
  reason: string | null;
  /** Null when none was given, or once the customer is erased. */
  comment: string | null;
  topic: string | null;
  messageId: string | null;
  createdAt: string;
}

/**
 * Records the answer when there is one (a reason or a non-blank comment); null otherwise or when the
 * customer is gone. The message id is kept only when that message was theirs.
 */
export async function recordFeedback(input: FeedbackInput): Promise<string | null> {
  const reason = input.reason || null;
  const comment = input.comment?.trim() || null;
  if (!reason && !comment) return null;
  return withTransaction(async (client) => {
    const c = await client.query<{ data_key: Buffer | null }>(
      "SELECT data_key FROM customers WHERE id = $1::uuid AND erased_at IS NULL FOR NO KEY UPDATE", [input.customerId]);
    const key = c.rows[0]?.data_key;
    if (!key) return null;
    const { rows } = await client.query<{ id: string; topic: string | null; message_id: string | null }>(
      `INSERT INTO feedback (id, customer_id, source, reason, comment_enc, topic_id, message_id)
       SELECT $7::uuid, $1::uuid, $2, $3, $4, t.id,
              (SELECT m.id FROM messages m WHERE m.id = $6::uuid AND m.customer_id = $1::uuid)
         FROM (SELECT $5::uuid AS tid) x LEFT JOIN topics t ON t.id = x.tid
       RETURNING id::text, (SELECT key FROM topics WHERE id = topic_id) AS topic, message_id::text`,
      [input.customerId, input.source, reason, comment ? encrypt(comment, Buffer.from(key)) : null, input.topicId ?? null, input.messageId ?? null, newId()],
    );
    const f = rows[0];
    const deliveries = await recordEvents(client, [{
      type: "feedback.received",
      data: { feedbackId: f.id, customerId: input.customerId, source: input.source, reason, topic: f.topic, messageId: f.message_id, hasComment: !!comment },
    }]);
    if (deliveries.length) onCommit(client, () => enqueueDeliveries(deliveries));
    return f.id;
  });
}

/** Newest first, keyset pages by id (uuid7: time-ordered). */
export async function listFeedback(q: ListFeedbackQuery): Promise<Page<FeedbackView>> {
  const { rows } = await pool.query<{
    id: string; customer_id: string; source: string; reason: string | null; comment_enc: string | null; data_key: Buffer | null;
    topic: string | null; message_id: string | null; created_at: Date;
  }>(
    `SELECT f.id::text, f.customer_id::text, f.source, f.reason, f.comment_enc, c.data_key, t.key AS topic, f.message_id::text, f.created_at
       FROM feedback f JOIN customers c ON c.id = f.customer_id LEFT JOIN topics t ON t.id = f.topic_id
      WHERE ($1::uuid IS NULL OR f.id < $1::uuid) AND ($2::uuid IS NULL OR f.customer_id = $2::uuid) AND ($3::text IS NULL OR f.source = $3)
      ORDER BY f.id DESC LIMIT $4`,
    [decodeCursor(q.cursor) ?? null, q.customerId ?? null, q.source ?? null, q.limit + 1],
  );
  return toPage(rows, q.limit, (r) => ({
    id: r.id, customerId: r.customer_id, source: r.source, reason: r.reason,
    comment: r.comment_enc && r.data_key ? decrypt(r.comment_enc, Buffer.from(r.data_key)) : null,
    topic: r.topic, messageId: r.message_id, createdAt: r.created_at.toISOString(),
  }));
}
