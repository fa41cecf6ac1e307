// Double opt-in: a grant on a doubleOptIn topic is `pending` until the customer confirms through a
// signed, expiring, single-use link sent by email. Both steps are in the ledger.
import { config } from "../../platform/config.ts";
import { RetryLater } from "../../platform/errors.ts";
import { logger } from "../../platform/logger.ts";
import { mailer, takeSmtpSlot, waitSmtpSlot } from "../../platform/mailer.ts";
import { reserveSends } from "../../platform/smtp-rate-limit.ts";
import { waitUnlessStopping } from "../../platform/worker-state.ts";
import { classify } from "../delivery/smtp-outcome.ts";
import { db } from "../../platform/prisma.ts";
import { escapeHtml as esc } from "../../platform/html.ts";
import { withTransaction } from "../../platform/sql.ts";
import { confirmUrl, readConfirm } from "../public-links/public-links.service.ts";
import { lockConsent, recordConsentChanges } from "./consent.repository.ts";
import { wordingOf } from "./consent.service.ts";


// Confirmations queue for the shared SMTP rate limit like delivery batches do (same window: half the
// claim timeout), so a long campaign cannot starve them; with no slot in the window, retry later.
const confirmMaxWaitMs = () => config.SEND_CLAIM_TIMEOUT_MS / 2;


async function pendingConfirmation(customerId: string, topicId: string) {
  const [customer, topic, consent] = await Promise.all([
    db.customer.findFirst({ where: { id: customerId, erasedAt: null } }),
    db.topic.findUnique({ where: { id: topicId } }),
    db.consent.findUnique({ where: { customerId_topicId_channel: { customerId, topicId, channel: "email" } } }),
  ]);
  if (!customer?.email || !topic || consent?.status !== "pending") return null;
  if (customer.emailHash && (await db.suppression.findUnique({ where: { addressHash: customer.emailHash } }))) return null;
  return { customer: { ...customer, email: customer.email }, topic, consent };
}

/**
 * Worker use case: send the confirmation email if the consent is still pending. SMTP answers mean
 * what they mean for every message (../delivery/smtp-outcome.ts): a bad address (5.1.x) is
 * suppressed and not tried again, another permanent error is given up, anything else is retried.
 */
export async function sendConfirmationEmail(customerId: string, topicId: string): Promise<"sent" | "skipped" | "bounced" | "failed"> {
  if (!(await pendingConfirmation(customerId, topicId))) return "skipped";
  const slot = await reserveSends(1, confirmMaxWaitMs());
  if (slot.granted === 0) throw new RetryLater(slot.retryIn, "no SMTP rate-limit slot in the window");
  // A shutdown meanwhile gives the job back, delayed to the slot, rather than holding the shutdown.
  const dueAt = Date.now() + slot.dueIn(0);
  if (!(await waitUnlessStopping(slot.dueIn(0)))) throw new RetryLater(dueAt - Date.now(), "shutting down while waiting for the rate limit");
  const release = takeSmtpSlot() ?? (await waitSmtpSlot());
  try {
    // Read again after the wait: an erasure, a withdrawal or a suppression meanwhile stops it.
    const state = await pendingConfirmation(customerId, topicId);
    if (!state) return "skipped";
    const verdict = await sendConfirmation(state);
    if (verdict.kind === "bounced" && state.customer.emailHash) {
      await db.suppression.upsert({
        where: { addressHash: state.customer.emailHash },
        create: { addressHash: state.customer.emailHash, reason: "hard_bounce", detail: "confirmation" },
        update: {},
      });
    }
    if (verdict.kind !== "sent") {
      logger.warn({ customerId, topicId, outcome: verdict.kind, detail: verdict.detail }, "double opt-in confirmation not delivered");
      return verdict.kind;
    }
  } finally {
    release();
  }
  logger.info({ customerId, topicId }, "double opt-in confirmation sent");
  return "sent";
}

async function sendConfirmation({ customer, topic, consent }: NonNullable<Awaited<ReturnType<typeof pendingConfirmation>>>): Promise<{ kind: "sent" | "bounced" | "failed"; detail?: string }> {
  const [customerId, topicId] = [customer.id, topic.id];
  const link = confirmUrl(customerId, topicId, consent.updatedAt);
  const wording = wordingOf(topic);
  const from = `"${config.SENDER_NAME.replace(/"/g, "")}" <${config.SENDER_EMAIL}>`;
  // SMTP errors quote the recipient; the job's failure reason (kept by BullMQ) and logs must not.
  const send = mailer().sendMail({
    from,
    to: customer.email,
    replyTo: config.SENDER_REPLY_TO,
    subject: `Please confirm your subscription: ${topic.name}`,
    text: `Hello${customer.name ? ` ${customer.name}` : ""},\n\nYou asked to receive: ${wording}\n\nConfirm here: ${link}\n\nIf this was not you, ignore this email and nothing will be sent.\n\n${config.SENDER_NAME}, ${config.SENDER_POSTAL_ADDRESS}\n`,
    html: `<p>Hello${customer.name ? ` ${esc(customer.name)}` : ""},</p><p>You asked to receive: <strong>${esc(wording)}</strong></p><p><a href="${esc(link)}">Confirm my subscription</a></p><p>If this was not you, ignore this email and nothing will be sent.</p><p style="color:#666;font-size:12px">${esc(config.SENDER_NAME)}, ${esc(config.SENDER_POSTAL_ADDRESS)}</p>`,
  });
  try {
    await send;
    return { kind: "sent" };
  } catch (err) {
    const v = classify(err);
    // Retried by the job (backoff); the message carries no address (BullMQ keeps failure reasons).
    if (v.kind === "retry") throw new Error(`confirmation email not accepted: ${v.detail}`);
    return v;
  }
}

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
