// One-click unsubscribe (RFC 8058) and its confirmation page. The signed token names the customer,
// the topic and optionally the message that carried the link. Opting out goes through the consent
// module's setConsent (which writes the ledger); the message gets an `unsubscribed` event once.
import { AppError } from "../../platform/errors.ts";
import { pool } from "../../platform/prisma.ts";
import { setConsent } from "../consent/consent.service.ts";
import type { FeedbackFields } from "../feedback/feedback.schema.ts";
import { recordFeedback } from "../feedback/feedback.service.ts";
import { readUnsubscribe, type UnsubscribeClaims } from "../public-links/public-links.service.ts";

export interface UnsubscribeState {
  topicName: string;
  /** Transactional mail (receipts, password resets) is sent whatever the consent; the page says so. */
  transactional: boolean;
  /** Already opted out. */
  done: boolean;
}

async function load(token: string): Promise<{ claims: UnsubscribeClaims; state: UnsubscribeState }> {
  const claims = readUnsubscribe(token);
  const invalid = new AppError("not_found", "This unsubscribe link is not valid");
  if (!claims) throw invalid;
  // An erased (or unknown) customer is 404, as everywhere: the link must not say what happened to them.
  const { rows } = await pool.query<{ name: string; kind: string; status: string | null }>(
    `SELECT t.name, t.kind, cs.status
       FROM topics t
       JOIN customers c ON c.id = $1::uuid AND c.erased_at IS NULL
       LEFT JOIN consents cs ON cs.customer_id = c.id AND cs.topic_id = t.id AND cs.channel = 'email'
      WHERE t.id = $2::uuid`,
    [claims.c, claims.t],
  );
  if (!rows[0]) throw invalid;
  const r = rows[0];
  return { claims, state: { topicName: r.name, transactional: r.kind === "transactional", done: r.status === "opted_out" } };
}

/** For the GET page: reads only. */
export async function inspectUnsubscribe(token: string): Promise<UnsubscribeState> {
  return (await load(token)).state;
}

/** Opts the customer out of the token's topic. Idempotent: repeating it changes nothing. */
export async function unsubscribe(
  token: string,
  how: { oneClick: boolean; ip?: string; userAgent?: string; feedback?: FeedbackFields },
): Promise<UnsubscribeState> {
  const { claims, state } = await load(token);
  // Erased meanwhile: setConsent answers 404 too, and the event below is not written.
  if (!state.done) {
    await setConsent({
      customerId: claims.c, topicId: claims.t, status: "opted_out", channel: "email",
      source: how.oneClick ? "one-click-unsubscribe" : "unsubscribe-page",
      proof: claims.m ? `message ${claims.m}` : undefined, ip: how.ip, userAgent: how.userAgent, actor: "customer",
    });
  }
  if (claims.m) {
    await pool.query(
      `INSERT INTO message_events (message_id, customer_id, type, created_at)
       SELECT m.id, m.customer_id, 'unsubscribed', now() FROM messages m
        WHERE m.id = $1::uuid AND m.customer_id = $2::uuid
          AND EXISTS (SELECT 1 FROM customers c WHERE c.id = m.customer_id AND c.erased_at IS NULL)
          AND NOT EXISTS (SELECT 1 FROM message_events e WHERE e.message_id = m.id AND e.type = 'unsubscribed')`,
      [claims.m, claims.c],
    );
  }
  // The page's optional "why": a touchpoint of its own (recorded after the opt-out, which must not wait).
  if (how.feedback) {
    await recordFeedback({ customerId: claims.c, source: "unsubscribe-page", topicId: claims.t, messageId: claims.m ?? null, ...how.feedback });
  }
  return { ...state, done: true };
}
