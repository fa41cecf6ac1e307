// Consent use cases: a customer's permission per topic and channel, and the ledger that proves it.
import type { Topic } from "../../generated/prisma/client.ts";
import { notFound } from "../../platform/errors.ts";
import { liftStopIf, stopHandoffs, stopMark } from "../../platform/handoff-gate.ts";
import { logger } from "../../platform/logger.ts";
import { db } from "../../platform/prisma.ts";
import { decrypt } from "../../platform/secrets.ts";
import { withTransaction } from "../../platform/sql.ts";
import type pg from "pg";
import { confirmationScopeOf, requestConfirmation } from "./confirmation-message.ts";
import { lockConsent, recordConsentChanges, type ConsentChange, type ConsentStatus } from "./consent.repository.ts";

export interface SetConsentInput {
  customerId: string;
  topicKey?: string;
  topicId?: string;
  status: "opted_in" | "opted_out";
  channel?: "email";
  source: string;
  proof?: string;
  ip?: string;
  userAgent?: string;
  /** "api-key:<id>", "admin-key:env", "customer" (public links) or "system". */
  actor: string;
}

export interface ConsentView {
  topic: string;
  channel: string;
  status: ConsentStatus;
  updatedAt: string;
}

async function liveCustomer(customerId: string) {
  const c = await db.customer.findFirst({ where: { id: customerId, erasedAt: null }, select: { id: true, dataKey: true } });
  if (!c || !c.dataKey) throw notFound("Customer", customerId);
  return { id: c.id, dataKey: Buffer.from(c.dataKey) };
}

async function topicOf(input: { topicKey?: string; topicId?: string }): Promise<Topic> {
  const t = input.topicId
    ? await db.topic.findUnique({ where: { id: input.topicId } })
    : await db.topic.findUnique({ where: { key: input.topicKey ?? "" } });
  if (!t) throw notFound("Topic", input.topicKey ?? input.topicId ?? "");
  return t;
}

/** The words the customer agrees to, kept in the ledger with each grant. */
export const wordingOf = (t: Topic) => `${t.name}${t.description ? `: ${t.description}` : ""}`;

/**
 * Grant or withdraw consent. Repeating the current state changes nothing (no new ledger row).
 * On a double opt-in topic a grant becomes `pending` and a confirmation email is queued; it turns
 * `opted_in` only through confirmConsent.
 */
export async function setConsent(input: SetConsentInput): Promise<ConsentView> {
  const customer = await liveCustomer(input.customerId);
  const topic = await topicOf(input);
  const channel = input.channel ?? "email";
  // A withdrawal first fences the hand-off (and waits for messages already with SMTP), then commits:
  // when this returns, nothing on the topic reaches SMTP (messages/CONTEXT.md, "Exact withdrawal").
  // Redis away or a hand-off that will not finish: 503 and nothing changed (after the commit: 503,
  // the withdrawal stands, and a retry fences again).
  const topicScope = { customerId: customer.id, topicId: topic.id };
  // And a confirmation email of a pending request (confirmation-message.ts).
  const confirmScope = { customerId: customer.id, topicId: confirmationScopeOf(topic.id) };
  const fence = async () => {
    await stopHandoffs(topicScope);
    if (topic.doubleOptIn) await stopHandoffs(confirmScope);
  };
  if (input.status === "opted_out") await fence();

  const outcome = await withTransaction(async (client) => {
    const current = await lockConsent(client, customer.id, topic.id, channel);
    let next: ConsentStatus = input.status;
    if (input.status === "opted_in" && topic.doubleOptIn && current?.status !== "opted_in") next = "pending";
    if (current?.status === next) return { status: next, updatedAt: current.updatedAt, changed: false, mark: null };
    // The mark an opt-in (or a new request) lifts, read under the consent's lock: a withdrawal that
    // commits after this one marks again (below), and that mark is not this one's to lift.
    const lifts = next === "opted_in" ? topicScope : next === "pending" ? confirmScope : null;
    const mark = lifts ? await stopMark(lifts).catch(() => null) : null;
    await recordConsentChanges(client, [{
      customerId: customer.id, topicId: topic.id, channel, status: next,
      action: next === "pending" ? "opt_in_requested" : next,
      source: input.source, proof: input.proof, ip: input.ip, userAgent: input.userAgent,
      wording: next === "opted_out" ? null : wordingOf(topic), actor: input.actor, dataKey: customer.dataKey,
    }]);
    const now = await lockConsent(client, customer.id, topic.id, channel);
    return { status: next, updatedAt: now!.updatedAt, changed: true, mark };
  });
  // A concurrent opt-in that committed first may have lifted this withdrawal's mark after reading it:
  // mark again (and wait for what was admitted meanwhile) before answering.
  if (outcome.changed && outcome.status === "opted_out") await fence();

  if (outcome.changed && outcome.status === "opted_in") {
    // Opted in again: messages held by an earlier withdrawal's mark may go (consent is read again).
    await liftStopIf(topicScope, outcome.mark).catch((err: Error) =>
      logger.warn({ err: err.message }, "could not lift a withdrawal mark; it expires by itself"));
  }
  if (outcome.changed && outcome.status === "pending") {
    // A new request: its confirmation may go (an old one's link is bound to the old request anyway).
    await liftStopIf(confirmScope, outcome.mark).catch((err: Error) =>
      logger.warn({ err: err.message }, "could not lift a confirmation mark; it expires by itself"));
  }
  if (outcome.status === "pending" && input.status === "opted_in") {
    // A new request sends its confirmation; asking again while pending re-sends it (the first email
    // may be lost, or the enqueue may have failed after the commit), at most once per 10 minutes.
    // It is a message (confirmation-message.ts): on the timeline, rate-limited, retried, fenced.
    const resend = outcome.changed ? "" : `-r${Math.floor(Date.now() / 600_000)}`;
    await requestConfirmation(customer, topic, wordingOf(topic), outcome.updatedAt, resend);
  }
  return { topic: topic.key, channel, status: outcome.status, updatedAt: outcome.updatedAt.toISOString() };
}

export async function listConsents(customerId: string): Promise<ConsentView[]> {
  await liveCustomer(customerId);
  const rows = await db.consent.findMany({
    where: { customerId },
    include: { topic: { select: { key: true } } },
    orderBy: [{ topic: { key: "asc" } }, { channel: "asc" }],
  });
  return rows.map((r) => ({ topic: r.topic.key, channel: r.channel, status: r.status, updatedAt: r.updatedAt.toISOString() }));
}

/** The ledger, oldest first. PII fields read null once the customer is erased (their key is gone). */
export async function listConsentEvents(customerId: string) {
  const customer = await db.customer.findUnique({ where: { id: customerId }, select: { dataKey: true } });
  if (!customer) throw notFound("Customer", customerId);
  const key = customer.dataKey ? Buffer.from(customer.dataKey) : null;
  const rows = await db.consentEvent.findMany({
    where: { customerId },
    include: { topic: { select: { key: true } } },
    orderBy: { id: "asc" },
  });
  const open = (v: string | null) => (v ? decrypt(v, key) : null);
  return rows.map((r) => ({
    id: r.id.toString(),
    topic: r.topic?.key ?? null,
    channel: r.channel,
    action: r.action,
    status: r.status,
    source: r.source,
    proof: open(r.proofEnc),
    ip: open(r.ipEnc),
    userAgent: open(r.userAgentEnc),
    wording: r.wording,
    // Customer-wide rows (cadence_changed, paused, resumed): the new cadence or the pause's end.
    ...(r.value === null ? {} : { value: r.value }),
    actor: r.actor,
    createdAt: r.createdAt.toISOString(),
  }));
}

/**
 * Opts the customer out of every marketing topic they are opted in to (or pending on), in the
 * caller's transaction, with one ledger row per topic (a complaint: source `complaint`). Like any
 * withdrawal, the caller fences the hand-off first: stopHandoffs({customerId}) before the transaction.
 * Returns the ids of the topics withdrawn.
 */
export async function withdrawAllMarketing(
  client: pg.PoolClient,
  input: { customerId: string; source: string; proof?: string; actor: string },
): Promise<string[]> {
  const c = await client.query<{ data_key: Buffer | null }>("SELECT data_key FROM customers WHERE id = $1::uuid AND erased_at IS NULL", [input.customerId]);
  const dataKey = c.rows[0]?.data_key;
  if (!dataKey) return [];
  const { rows } = await client.query<{ topic_id: string }>(
    `SELECT cs.topic_id FROM consents cs JOIN topics t ON t.id = cs.topic_id
      WHERE cs.customer_id = $1::uuid AND cs.channel = 'email' AND t.kind = 'marketing' AND cs.status IN ('opted_in', 'pending')
      ORDER BY cs.topic_id`,
    [input.customerId],
  );
  const changes: ConsentChange[] = [];
  for (const r of rows) {
    // The same lock as setConsent: a concurrent change of one of these consents waits, then sees this.
    const current = await lockConsent(client, input.customerId, r.topic_id, "email");
    if (!current || current.status === "opted_out") continue;
    changes.push({
      customerId: input.customerId, topicId: r.topic_id, channel: "email", status: "opted_out", action: "opted_out",
      source: input.source, proof: input.proof, wording: null, actor: input.actor, dataKey,
    });
  }
  await recordConsentChanges(client, changes);
  return changes.map((x) => x.topicId);
}
