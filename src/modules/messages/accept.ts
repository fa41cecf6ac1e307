// The one acceptance path. A batch of recipients for one topic and template version is decided and
// written together: one eligibility query, one frequency-cap count, one multi-row insert (each row
// with its `accepted` or `suppressed` event) and one enqueue. The send API calls it with a batch of
// one; the campaign fan-out with pages of about 1,000. The rules themselves live in
// ../consent/eligibility.ts (consent, suppression) and frequency-cap.ts (the cap).
import { config } from "../../platform/config.ts";
import { messagesOutcome } from "../../platform/metrics.ts";
import { checkEligibility, type TopicRef } from "../consent/eligibility.ts";
import { scheduleDelivery } from "../delivery/dispatch.ts";
import { capEnabled, marketingCounts } from "./frequency-cap.ts";
import { insertMessages, type InsertedMessage } from "./messages.repository.ts";

export interface AcceptItem {
  customerId: string;
  /** Persona key at acceptance (the worker re-resolves at send time). */
  personaKey: string | null;
  data?: Record<string, unknown>;
  idempotencyKey?: string | null;
  requestHash?: string | null;
  /** Earliest hand-off (campaign local time); null: now. */
  sendAt?: Date | null;
}

export interface AcceptBatch {
  topic: TopicRef;
  templateVersionId: string;
  campaignId?: string | null;
  items: AcceptItem[];
  /**
   * Schedules delivery of the rows inserted as `queued` (default: the send API's coalescing
   * dispatcher). Campaigns pass their own (delayed waves, their own lane).
   */
  enqueue?: (rows: InsertedMessage[]) => Promise<unknown>;
}

export interface AcceptResult {
  /** Per item, in order: the row written, or null when a unique key already held one (idempotency
   * key, or the campaign already targeted this customer). */
  rows: Array<InsertedMessage | null>;
  /** How many were inserted per outcome: `queued` or the suppression reason. */
  counts: Record<string, number>;
}

export async function acceptBatch(b: AcceptBatch): Promise<AcceptResult> {
  const ids = b.items.map((i) => i.customerId);
  const verdicts = await checkEligibility(b.topic, ids);
  const counts = b.topic.kind === "marketing" && capEnabled() ? await marketingCounts(ids, true) : null;
  const decided = b.items.map((item) => {
    const v = verdicts.get(item.customerId)!;
    let reason: string | null = v.ok ? null : v.reason;
    if (!reason && counts) {
      const n = counts.get(item.customerId) ?? 0;
      if (n >= config.FREQUENCY_CAP_COUNT) reason = "frequency_cap";
      else counts.set(item.customerId, n + 1);
    }
    return { ...item, status: reason ? ("suppressed" as const) : ("queued" as const), reason };
  });
  const rows = await insertMessages({ topicId: b.topic.id, templateVersionId: b.templateVersionId, campaignId: b.campaignId ?? null }, decided);
  const out: Record<string, number> = {};
  for (const r of rows) if (r) out[r.reason ?? "queued"] = (out[r.reason ?? "queued"] ?? 0) + 1;
  if (out.queued) messagesOutcome.inc({ outcome: "accepted" }, out.queued);
  const suppressed = rows.filter((r) => r?.status === "suppressed").length;
  if (suppressed) messagesOutcome.inc({ outcome: "suppressed" }, suppressed);
  const queued = rows.filter((r): r is InsertedMessage => r?.status === "queued");
  if (queued.length > 0) await (b.enqueue ? b.enqueue(queued) : scheduleDelivery(queued.map((r) => r.id)));
  return { rows, counts: out };
}
