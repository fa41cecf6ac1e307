// The send API's use cases: accept a message (decide now, deliver later), read messages and events.
// Every request leaves a row: queued, or suppressed with the reason.
import { withSnapshot } from "../../platform/sql.ts";
import { AppError, conflict, notFound } from "../../platform/errors.ts";
import { isUuid } from "../../platform/ids.ts";
import { decodeCursor, toPage } from "../../platform/pagination.ts";
import { addressHash, sha256 } from "../../platform/secrets.ts";
import { addressKey } from "../customers/email.ts";
import { engagementEventsOf, messageEngagement } from "../engagement/engagement.repository.ts";
import { acceptSend } from "./accept-queue.ts";
import * as repo from "./messages.repository.ts";
import type { ListMessages, SendMessage } from "./messages.schema.ts";

export function messageView(m: repo.MessageRow) {
  return {
    id: m.id,
    status: m.status,
    reason: m.reason,
    customerId: m.customer_id,
    campaignId: m.campaign_id,
    template: m.template,
    version: m.version,
    persona: m.persona_key,
    topic: m.topic,
    // Proof of the (last) SMTP hand-off: the consent ledger row that allowed it, what was rendered.
    consentEventId: m.consent_event_id,
    renderedPersona: m.rendered_persona_key,
    renderedVariant: m.rendered_variant,
    attempts: m.attempts,
    createdAt: m.created_at.toISOString(),
    sentAt: m.sent_at?.toISOString() ?? null,
    updatedAt: m.updated_at.toISOString(),
  };
}
export type MessageView = ReturnType<typeof messageView>;

/** Key order does not change the meaning of a JSON body, so it does not change its hash either. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

function lookup(to: SendMessage["to"]): repo.RecipientLookup {
  if ("customerId" in to) {
    if (!isUuid(to.customerId)) throw notFound("Customer", to.customerId);
    return { by: "id", value: to.customerId };
  }
  if ("externalId" in to) return { by: "externalId", value: to.externalId };
  return { by: "emailHash", value: addressHash(addressKey(to.email)) };
}

const describe = (to: SendMessage["to"]) =>
  "customerId" in to ? `Customer '${to.customerId}'` : "externalId" in to ? `Customer with externalId '${to.externalId}'` : "Customer with this email";

export interface Accepted {
  message: MessageView;
  /** True when an earlier request with the same Idempotency-Key created it. */
  replayed: boolean;
}

/**
 * Accepts a send request. Unknown customer, topic or template (version) -> 404 naming which; the
 * Idempotency-Key (scoped to the caller's API key) returns the first message for the same body and
 * 409 for a different one.
 */
export async function acceptMessage(input: SendMessage, actor: string, idempotencyKey?: string): Promise<Accepted> {
  const scopedKey = idempotencyKey ? sha256(`${actor}\n${idempotencyKey}`) : null;
  const requestHash = scopedKey ? sha256(canonical(input)) : null;
  if (scopedKey) {
    const prior = await repo.findByIdempotencyKey(scopedKey);
    if (prior) return replay(prior, requestHash!);
  }

  const { resolved: r, row: inserted } = await acceptSend({
    to: lookup(input.to), topicKey: input.topic, templateKey: input.template, version: input.version ?? null,
    item: { data: input.data ?? {}, idempotencyKey: scopedKey, requestHash },
  });
  if (!r.customerId) throw new AppError("not_found", `${describe(input.to)} does not exist`);
  if (!r.topicId || !r.topicKind) throw notFound("Topic", input.topic);
  if (!r.templateVersionId || r.version === null) {
    const what = input.version ? `Template '${input.template}' version ${input.version}` : `Template '${input.template}'`;
    throw new AppError("not_found", `${what} does not exist`);
  }
  if (!inserted) {
    // A concurrent request with the same key inserted first.
    const prior = await repo.findByIdempotencyKey(scopedKey!);
    if (!prior) throw new AppError("internal", "Idempotency conflict could not be resolved");
    return replay(prior, requestHash!);
  }
  const t = inserted.createdAt.toISOString();
  return {
    replayed: false,
    message: {
      id: inserted.id, status: inserted.status, reason: inserted.reason, customerId: r.customerId, campaignId: null,
      template: input.template, version: r.version, persona: r.persona, topic: input.topic, attempts: 0,
      consentEventId: null, renderedPersona: null, renderedVariant: null,
      createdAt: t, sentAt: null, updatedAt: t,
    },
  };
}

function replay(prior: repo.MessageRow, requestHash: string): Accepted {
  if (prior.request_hash !== requestHash) {
    throw conflict("This Idempotency-Key was already used with a different request body");
  }
  return { message: messageView(prior), replayed: true };
}

export async function getMessage(id: string) {
  if (!isUuid(id)) throw notFound("Message", id.slice(0, 100));
  // One snapshot: the engagement writer commits events and counts together, and separate reads
  // could show the one without the other.
  const read = await withSnapshot(async (q) => {
    const row = await repo.findMessage(id, q);
    if (!row) return null;
    // One after another: they share the snapshot's connection, which runs one query at a time
    // (queries issued together on one pg client are deprecated and fail from pg 9).
    const events = await repo.messageEvents(id, q);
    const engagement = await messageEngagement(id, q);
    const hits = await engagementEventsOf(id, q);
    return { m: row, parts: [events, engagement, hits] as const };
  });
  if (!read) throw notFound("Message", id.slice(0, 100));
  const { m, parts: [events, engagement, hits] } = read;
  const list = [
    ...events.map((e) => ({
      type: e.type,
      createdAt: e.created_at.toISOString(),
      ...(e.url ? { url: e.url } : {}),
      ...(e.detail ? { detail: e.detail } : {}),
    })),
    // Every raw open and click with its verdict (IP and user agent stay encrypted, never shown here).
    ...hits.map((e) => ({
      type: e.type === "open" ? "opened" : "clicked",
      createdAt: e.at.toISOString(),
      ...(e.url ? { url: e.url } : {}),
      machine: e.machine,
      rule: e.rule,
    })),
  ].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return { ...messageView(m), engagement, events: list };
}

export async function listMessages(q: ListMessages) {
  // Ids that cannot exist match nothing (rather than a 400): filters are opaque like path ids.
  if ((q.customerId && !isUuid(q.customerId)) || (q.campaignId && !isUuid(q.campaignId))) return { data: [], nextCursor: null };
  const rows = await repo.listMessages({ ...q, before: decodeCursor(q.cursor) });
  return toPage(rows, q.limit, messageView);
}
