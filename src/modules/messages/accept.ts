// The one acceptance path. A batch of recipients for one topic and template version is decided and
// written together: one eligibility query, one count for the frequency cap and the customers' cadence, one multi-row insert (each row
// with its `accepted` or `suppressed` event) and one enqueue. The send API calls it with a batch of
// one; the campaign fan-out with pages of about 1,000. The rules themselves live in
// ../consent/eligibility.ts (consent, suppression) and frequency-cap.ts (the cap).
import { messagesOutcome } from "../../platform/metrics.ts";
import { pool } from "../../platform/prisma.ts";
import { checkEligibility, type TopicRef } from "../consent/eligibility.ts";
import { scheduleDelivery } from "../delivery/dispatch.ts";
import { marketingLoad, needsCount, takeAllowance } from "./frequency-cap.ts";
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
  // The frequency cap and the customer's cadence: one count for the batch, only when one may apply.
  const allowed = ids.filter((id) => verdicts.get(id)!.ok);
  const cadences = allowed.map((id) => { const v = verdicts.get(id)!; return v.ok ? v.cadence : undefined; });
  const loads = b.topic.kind === "marketing" && needsCount(cadences) ? await marketingLoad(pool, allowed, ["queued", "sending"]) : null;
  const decided = b.items.map((item) => {
    const v = verdicts.get(item.customerId)!;
    let reason: string | null = v.ok ? null : v.reason;
    if (!reason && loads) reason = takeAllowance(loads.get(item.customerId));
    return { ...item, status: reason ? ("suppressed" as const) : ("queued" as const), reason };
  });
  const rows = await insertMessages({ topicId: b.topic.id, templateVersionId: b.templateVersionId, campaignId: b.campaignId ?? null }, decided);
  const out: Record<string, number> = {};
  for (const r of rows) if (r) out[r.reason ?? "queued"] = (out[r.reason ?? "queued"] ?? 0) + 1;
  if (out.queued) messagesOutcome.inc({ outcome: "accepted" }, out.queued);
  const suppressed = rows.filter((r) => r?.status === "suppressed").length;
  if (suppressed) messagesOutcome.inc({ outcome: "suppressed" }, suppressed);
  const queued = rows.filter((r): r is InsertedMessage => r?.status === "queued");
  if (queued.length > 0) {
    if (b.enqueue) await b.enqueue(queued);
    // Not awaited: the rows are committed and queued, which is what the 202 promises. Enqueueing
    // never fails the caller (the sweep picks up rows whose job is missing), and waiting for the
    // coalescing window held every group of the send API ~10 ms longer. Shutdown flushes it
    // (flushScheduledDeliveries).
    else void scheduleDelivery(queued.map((r) => r.id));
  }
  return { rows, counts: out };
}
