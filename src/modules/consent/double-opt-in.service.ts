// Double opt-in: a grant on a doubleOptIn topic is `pending` until the customer confirms through a
// signed, expiring, single-use link sent by email (confirmation-message.ts). Both steps are in the ledger.
import { db } from "../../platform/prisma.ts";
import { withTransaction } from "../../platform/sql.ts";
import { readConfirm } from "../public-links/public-links.service.ts";
import { lockConsent, recordConsentChanges } from "./consent.repository.ts";
import { wordingOf } from "./consent.service.ts";

// The email itself is a message through the delivery pipeline: confirmation-message.ts.

export type ConfirmState = "ready" | "confirmed" | "already_confirmed" | "invalid";

/** What the GET page shows; changes nothing (link scanners must not confirm anyone). */
export async function inspectConfirmation(token: string): Promise<{ state: ConfirmState; topicName?: string; wording?: string }> {
  const claims = readConfirm(token);
  if (!claims) return { state: "invalid" };
  const [customer, topic, consent, used] = await Promise.all([
    db.customer.findFirst({ where: { id: claims.c, erasedAt: null }, select: { id: true } }),
    db.topic.findUnique({ where: { id: claims.t } }),
    db.consent.findUnique({ where: { customerId_topicId_channel: { customerId: claims.c, topicId: claims.t, channel: "email" } } }),
    db.tokenUse.findUnique({ where: { jti: claims.j } }),
  ]);
  // Erased: 404 like everything else about them, not "confirm" or "already confirmed".
  if (!customer || !topic) return { state: "invalid" };
  if (consent?.status === "opted_in") return { state: "already_confirmed", topicName: topic.name };
  if (used || consent?.status !== "pending" || consent.updatedAt.getTime() !== claims.s) return { state: "invalid" };
  return { state: "ready", topicName: topic.name, wording: wordingOf(topic) };
}

/** POST: turns a pending consent opted_in, once. */
export async function confirmConsent(token: string, ctx: { ip?: string; userAgent?: string }): Promise<{ state: ConfirmState; topicName?: string }> {
  const claims = readConfirm(token);
  if (!claims) return { state: "invalid" };
  const customer = await db.customer.findFirst({ where: { id: claims.c, erasedAt: null }, select: { id: true, dataKey: true } });
  const topic = await db.topic.findUnique({ where: { id: claims.t } });
  if (!customer?.dataKey || !topic) return { state: "invalid" };

  const state = await withTransaction(async (client): Promise<ConfirmState> => {
    const current = await lockConsent(client, customer.id, topic.id, "email");
    if (current?.status === "opted_in") return "already_confirmed";
    const fresh = await client.query("INSERT INTO token_uses (jti) VALUES ($1) ON CONFLICT DO NOTHING RETURNING jti", [claims.j]);
    // Only the request the link was sent for: not an older one superseded by an opt-out and a new ask.
    if (fresh.rowCount === 0 || current?.status !== "pending" || current.updatedAt.getTime() !== claims.s) return "invalid";
    await recordConsentChanges(client, [{
      customerId: customer.id, topicId: topic.id, channel: "email", status: "opted_in", action: "confirmed",
      source: "double-opt-in", proof: `confirmation link ${claims.j}`, ip: ctx.ip, userAgent: ctx.userAgent,
      wording: wordingOf(topic), actor: "customer", dataKey: Buffer.from(customer.dataKey!),
    }]);
    return "confirmed";
  });
  return { state, topicName: topic.name };
}
