// Double opt-in: a grant on a doubleOptIn topic is `pending` until the customer confirms through a
// signed, expiring, single-use link sent by email. Both steps are in the ledger.
import { config } from "../../platform/config.ts";
import { logger } from "../../platform/logger.ts";
import { mailer } from "../../platform/mailer.ts";
import { reserveSends } from "../../platform/smtp-rate-limit.ts";
import { db } from "../../platform/prisma.ts";
import { scrubAddresses } from "../../platform/scrub.ts";
import { escapeHtml as esc } from "../../platform/html.ts";
import { withTransaction } from "../../platform/sql.ts";
import { confirmUrl, readConfirm } from "../public-links/public-links.service.ts";
import { lockConsent, recordConsentChanges } from "./consent.repository.ts";
import { wordingOf } from "./consent.service.ts";


const CONFIRM_MAX_WAIT_MS = 10_000;

/** Worker use case: send the confirmation email if the consent is still pending. */
export async function sendConfirmationEmail(customerId: string, topicId: string): Promise<"sent" | "skipped"> {
  const [customer, topic, consent] = await Promise.all([
    db.customer.findFirst({ where: { id: customerId, erasedAt: null } }),
    db.topic.findUnique({ where: { id: topicId } }),
    db.consent.findUnique({ where: { customerId_topicId_channel: { customerId, topicId, channel: "email" } } }),
  ]);
  if (!customer?.email || !topic || consent?.status !== "pending") return "skipped";
  if (customer.emailHash && (await db.suppression.findUnique({ where: { addressHash: customer.emailHash } }))) return "skipped";

  const link = confirmUrl(customerId, topicId, consent.updatedAt);
  const wording = wordingOf(topic);
  const from = `"${config.SENDER_NAME.replace(/"/g, "")}" <${config.SENDER_EMAIL}>`;
  // The provider's rate limit counts confirmations too: take a slot of the shared budget. Without one
  // soon, fail this attempt; the job is retried with backoff.
  const slot = await reserveSends(1, CONFIRM_MAX_WAIT_MS);
  if (slot.granted === 0) throw new Error(`SMTP rate limit: no slot within ${CONFIRM_MAX_WAIT_MS} ms`);
  await new Promise((r) => setTimeout(r, slot.dueIn(0)));
  // SMTP errors quote the recipient; the job's failure reason (kept by BullMQ) and logs must not.
  const send = mailer().sendMail({
    from,
    to: customer.email,
    replyTo: config.SENDER_REPLY_TO,
    subject: `Please confirm your subscription: ${topic.name}`,
    text: `Hello${customer.name ? ` ${customer.name}` : ""},\n\nYou asked to receive: ${wording}\n\nConfirm here: ${link}\n\nIf this was not you, ignore this email and nothing will be sent.\n\n${config.SENDER_NAME}, ${config.SENDER_POSTAL_ADDRESS}\n`,
    html: `<p>Hello${customer.name ? ` ${esc(customer.name)}` : ""},</p><p>You asked to receive: <strong>${esc(wording)}</strong></p><p><a href="${esc(link)}">Confirm my subscription</a></p><p>If this was not you, ignore this email and nothing will be sent.</p><p style="color:#666;font-size:12px">${esc(config.SENDER_NAME)}, ${esc(config.SENDER_POSTAL_ADDRESS)}</p>`,
  });
  await send.catch((err: { response?: string; message?: string }) => {
    throw new Error(`confirmation email not accepted: ${scrubAddresses(String(err.response ?? err.message))}`);
  });
  logger.info({ customerId, topicId }, "double opt-in confirmation sent");
  return "sent";
}

export type ConfirmState = "ready" | "confirmed" | "already_confirmed" | "invalid";

/** What the GET page shows; changes nothing (link scanners must not confirm anyone). */
export async function inspectConfirmation(token: string): Promise<{ state: ConfirmState; topicName?: string; wording?: string }> {
  const claims = readConfirm(token);
  if (!claims) return { state: "invalid" };
  const [topic, consent, used] = await Promise.all([
    db.topic.findUnique({ where: { id: claims.t } }),
    db.consent.findUnique({ where: { customerId_topicId_channel: { customerId: claims.c, topicId: claims.t, channel: "email" } } }),
    db.tokenUse.findUnique({ where: { jti: claims.j } }),
  ]);
  if (!topic) return { state: "invalid" };
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
