// The double opt-in email is a message like any other: accepted by the one acceptance path on a
// system transactional topic with a system template, then claimed, rendered, rate-limited, retried,
// recorded and fenced by the delivery pipeline (../delivery). So it is on the customer's timeline
// and in GET /v1/messages with its events, and SMTP answers mean what they mean for every message.
// What is particular to it: it may go only while the request it confirms is still pending
// (stillWanted, applied by the send-time gate), and a withdrawal of that topic fences its hand-off.
import { db, pool } from "../../platform/prisma.ts";
import { acceptBatch } from "../messages/accept.ts";
import { confirmUrl } from "../public-links/public-links.service.ts";

/** Keys no API caller can create (user keys start with a letter or digit). */
export const CONFIRMATION_TOPIC = "_system.confirmation";
export const CONFIRMATION_TEMPLATE = "_system.double-opt-in";

// Version 1 of the system template. Marketers may add versions (POST /v1/templates/{key}/versions);
// the latest is used. data: topicName, wording, confirmUrl.
const TEMPLATE = {
  name: "Double opt-in confirmation",
  subject: "Please confirm your subscription: {{data.topicName}}",
  html: `<p>Hello{{#if customer.name}} {{customer.name}}{{/if}},</p><p>You asked to receive: <strong>{{data.wording}}</strong></p>
<p><a href="{{data.confirmUrl}}">Confirm my subscription</a></p><p>If this was not you, ignore this email and nothing will be sent.</p>
<p style="color:#555;font-size:12px">{{sender.name}}, {{sender.postalAddress}}</p>`,
  text: `Hello{{#if customer.name}} {{customer.name}}{{/if}},

You asked to receive: {{data.wording}}

Confirm here: {{data.confirmUrl}}

If this was not you, ignore this email and nothing will be sent.

{{sender.name}}, {{sender.postalAddress}}
`,
};

let kind: Promise<{ topicId: string }> | null = null;

/** The system topic and template, created on first use (idempotent across processes). */
function confirmationKind(): Promise<{ topicId: string }> {
  kind ??= (async () => {
    // No tracking: the confirmation link must stay the link we signed, and no pixel in a first email.
    const topic = await db.topic.upsert({
      where: { key: CONFIRMATION_TOPIC },
      create: { key: CONFIRMATION_TOPIC, name: "Subscription confirmations", kind: "transactional", trackOpens: false, trackClicks: false },
      update: {},
    });
    await pool.query(
      `WITH t AS (INSERT INTO templates (id, key, created_at) VALUES (gen_random_uuid(), $1, now()) ON CONFLICT (key) DO NOTHING RETURNING id)
       INSERT INTO template_versions (id, template_id, version, name, subject, html, text, variants, created_at)
       SELECT gen_random_uuid(), t.id, 1, $2, $3, $4, $5, '[]', now() FROM t`,
      [CONFIRMATION_TEMPLATE, TEMPLATE.name, TEMPLATE.subject, TEMPLATE.html, TEMPLATE.text],
    );
    return { topicId: topic.id };
  })().catch((err) => {
    kind = null;
    throw err;
  });
  return kind;
}

async function latestVersionId(): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT v.id FROM template_versions v JOIN templates t ON t.id = v.template_id WHERE t.key = $1 ORDER BY v.version DESC LIMIT 1`,
    [CONFIRMATION_TEMPLATE],
  );
  if (!rows[0]) throw new Error("the confirmation template has no version");
  return rows[0].id;
}

/**
 * Accepts the confirmation message for a pending request (`since`: the pending consent's
 * updatedAt, which the link is bound to). `tag` distinguishes a re-send; the same tag again is a
 * no-op (idempotency key), so a retried request never sends twice.
 */
export async function requestConfirmation(
  customer: { id: string }, topic: { id: string; name: string }, wording: string, since: Date, tag = "",
): Promise<void> {
  const { topicId } = await confirmationKind();
  await acceptBatch({
    topic: { id: topicId, kind: "transactional" },
    templateVersionId: await latestVersionId(),
    items: [{
      customerId: customer.id, personaKey: null,
      idempotencyKey: `_system:confirm:${customer.id}:${topic.id}:${since.getTime()}${tag}`,
      data: { confirmTopicId: topic.id, since: since.getTime(), topicName: topic.name, wording, confirmUrl: confirmUrl(customer.id, topic.id, since) },
    }],
  });
}

/** A message as the delivery pipeline sees it: its data and its topic. */
type Delivered = { data: Record<string, unknown>; topic: { key: string } };

/**
 * The topic a confirmation message confirms (its hand-off is fenced by that topic's withdrawal).
 * Only messages of the system topic are confirmations: any other message's data is the caller's
 * (an API send may carry a `confirmTopicId` of its own, which must neither suppress it nor move its fence).
 */
export function confirmsTopic(m: Delivered): string | null {
  return m.topic.key === CONFIRMATION_TOPIC && typeof m.data.confirmTopicId === "string" ? m.data.confirmTopicId : null;
}

/**
 * The hand-off scope of a confirmation (as a StopScope topic): its own, not the topic's, so that a
 * new request after a withdrawal can lift it without lifting the fence of the topic's marketing.
 */
export const confirmationScopeOf = (topicId: string) => `confirm:${topicId}`;
export function confirmationScope(m: Delivered): string | null {
  const t = confirmsTopic(m);
  return t ? confirmationScopeOf(t) : null;
}

/**
 * Send-time rule for confirmation messages, one query for the batch: the request must still be the
 * pending one the link was made for. Else: `unsubscribed` (withdrawn meanwhile) or `no_consent`
 * (confirmed already, or superseded). Returns message id -> reason for those that must not go.
 */
export async function unwantedConfirmations(ms: Array<Delivered & { id: string; customerId: string }>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const mine = ms.filter((m) => confirmsTopic(m));
  if (mine.length === 0) return out;
  const { rows } = await pool.query<{ customer_id: string; topic_id: string; status: string; since: string }>(
    `SELECT cs.customer_id::text, cs.topic_id::text, cs.status::text, (extract(epoch FROM cs.updated_at) * 1000)::bigint::text AS since
       FROM consents cs JOIN unnest($1::uuid[], $2::uuid[]) AS x(c, t) ON cs.customer_id = x.c AND cs.topic_id = x.t AND cs.channel = 'email'`,
    [mine.map((m) => m.customerId), mine.map((m) => confirmsTopic(m))],
  );
  const state = new Map(rows.map((r) => [`${r.customer_id}|${r.topic_id}`, r]));
  for (const m of mine) {
    const s = state.get(`${m.customerId}|${confirmsTopic(m)}`);
    if (s?.status === "pending" && Number(s.since) === Number(m.data.since)) continue;
    out.set(m.id, s?.status === "opted_out" ? "unsubscribed" : "no_consent");
  }
  return out;
}
