// The part of a delivery batch before SMTP: consent, suppression and pause re-check, frequency cap and
// the customer's cadence, personas,
// touchpoints, rendering through the one rendering function, and MIME composition (build.ts, in a
// build thread when the process has one). Every database step covers the whole batch.
import { AppError } from "../../platform/errors.ts";
import { gateEpoch } from "../../platform/handoff-gate.ts";
import { prepareTemplates } from "../../templates/compiled.ts";
import type { RenderTemplateVersion } from "../../templates/render.types.ts";
import { unwantedConfirmations } from "../consent/confirmation-message.ts";
import { checkEligibility } from "../consent/eligibility.ts";
import { trackingForBatch } from "../engagement/tracking.service.ts";
import { enforceCapAtSend } from "../messages/frequency-cap.ts";
import { personasForCustomers } from "../personas/persona-assignment.ts";
import { touchpointsFor } from "../templates/touchpoints.repository.ts";
import { renderFailure, type BuildInput } from "./build.ts";
import { buildMessages } from "./build-threads.ts";
import { templateVersions, type ClaimedMessage, type Outcome } from "./delivery.repository.ts";

/** A message rendered and composed for SMTP, with what was rendered (recorded with the attempt). */
export interface ReadyMessage {
  m: ClaimedMessage;
  /**
   * The MIME message as bytes. A batch holds hundreds of these until their turn at SMTP: as strings
   * each scavenge of the young generation copied them (and promoted them to the old one); a buffer's
   * bytes live outside the JavaScript heap, so the garbage collector moves only a small handle.
   */
  raw: Buffer;
  persona: string | null;
  variant: string | null;
}

export interface Prepared {
  /** Rendered and composed, ready for SMTP. */
  ready: ReadyMessage[];
  /** Settled without sending: suppressed at send time or not renderable. To be recorded. */
  early: Outcome[];
  /** Suppressed by the frequency cap, already recorded (see frequency-cap.ts). */
  capped: Set<string>;
  /**
   * The batch's consent read: when it started, and the hand-off gate's generation read just before it
   * (null when Redis did not answer). The hand-off relies on it while it is younger than RECHECK_MS.
   */
  read: { at: number; epoch: string | null };
}

/**
 * Consent and suppression for the whole batch, one query per topic: id -> reason when blocked. When
 * `proof` is given, it receives the ledger row in force for each allowed marketing message.
 */
export async function gate(
  batch: ClaimedMessage[], proof?: Map<string, string | null>, cadences?: Map<string, string | undefined>,
): Promise<Map<string, string>> {
  const blocked = new Map<string, string>();
  const byTopic = new Map<string, ClaimedMessage[]>();
  for (const m of batch) {
    const list = byTopic.get(m.topic.id);
    if (list) list.push(m);
    else byTopic.set(m.topic.id, [m]);
  }
  for (const ms of byTopic.values()) {
    const verdicts = await checkEligibility(ms[0].topic, ms.map((m) => m.customerId));
    for (const m of ms) {
      const v = verdicts.get(m.customerId)!;
      if (!v.ok) blocked.set(m.id, v.reason);
      else {
        proof?.set(m.id, v.consentEventId ?? null);
        cadences?.set(m.customerId, v.cadence);
      }
    }
  }
  // Double opt-in confirmations go only while the request they confirm is still pending.
  for (const [id, reason] of await unwantedConfirmations(batch.filter((m) => !blocked.has(m.id)))) blocked.set(id, reason);
  return blocked;
}

const touchpointUse = new Map<string, boolean>();
/** Touchpoints cost a query per batch: only loaded for template versions that mention them. */
function usesTouchpoints(t: RenderTemplateVersion | undefined): boolean {
  if (!t) return false;
  let uses = touchpointUse.get(t.id);
  if (uses === undefined) {
    if (touchpointUse.size > 2000) touchpointUse.clear();
    uses = JSON.stringify(t).includes("touchpoints");
    touchpointUse.set(t.id, uses);
  }
  return uses;
}

/** `proof` receives the ledger row in force for each allowed marketing message (see gate). */
export async function prepareBatch(claimed: ClaimedMessage[], proof?: Map<string, string | null>): Promise<Prepared> {
  const cadences = new Map<string, string | undefined>();
  const epoch = await gateEpoch().catch(() => null);
  const read = { at: Date.now(), epoch };
  const blocked = await gate(claimed, proof, cadences);
  const live = claimed.filter((m) => !blocked.has(m.id));
  const templates = await templateVersions(live.map((m) => m.templateVersionId));
  // Each distinct version prepared once (worker pool, off the event loop) before the synchronous renders.
  // A template error (422: does not compile, too complex) fails its messages; anything else (the
  // pool shutting down, a crashed thread) fails the batch, whose claims go back to the queue.
  const unprepared = await prepareTemplates(templates.values());
  for (const err of unprepared.values()) if (!(err instanceof AppError)) throw err;
  const personas = await personasForCustomers(live.map((m) => m.customerId));
  const wantsTouchpoints = live.filter((m) => usesTouchpoints(templates.get(m.templateVersionId)));
  const touchpoints = wantsTouchpoints.length > 0 ? await touchpointsFor(wantsTouchpoints.map((m) => m.customerId)) : new Map();
  const tracking = await trackingForBatch(live.map((m) => m.topic.id));

  const out: Prepared = { ready: [], early: [], capped: new Set(), read };
  const building: ClaimedMessage[] = [];
  const inputs: BuildInput[] = [];
  for (const m of claimed) {
    const reason = blocked.get(m.id);
    if (reason) {
      out.early.push({ id: m.id, claim: m.claim, kind: "suppressed", reason });
      continue;
    }
    // A template that cannot render for this customer will not render on a retry either.
    const tv = templates.get(m.templateVersionId);
    const cannot = tv ? unprepared.get(tv.id) : new Error("template version not found");
    if (cannot) {
      out.early.push({ id: m.id, claim: m.claim, kind: "failed", detail: renderFailure(cannot.message) });
      continue;
    }
    building.push(m);
    inputs.push({
      id: m.id, customerId: m.customerId, templateVersionId: m.templateVersionId, topic: m.topic,
      customer: { ...m.customer, email: m.customer.email! }, persona: personas.get(m.customerId)?.persona ?? null,
      data: m.data, touchpoints: touchpoints.get(m.customerId), tracking: tracking.options(m.id, m.topic.id),
    });
  }
  // Rendering and composing, in a build thread when there is one (build-threads.ts).
  const built = await buildMessages(inputs, templates);
  building.forEach((m, i) => {
    const b = built[i];
    if (!b.ok) {
      out.early.push({ id: m.id, claim: m.claim, kind: "failed", detail: b.error });
      return;
    }
    tracking.record(m.id, b.links);
    out.ready.push({ m, raw: b.raw, persona: inputs[i].persona?.key ?? null, variant: b.variant });
  });
  // The cap counts only messages that can really go: after consent and rendering, and never counting
  // this batch's own claims (a blocked or unrenderable one must not use up a customer's allowance).
  const marketing = out.ready.filter((x) => x.m.topic.kind === "marketing").map((x) => x.m);
  out.capped = await enforceCapAtSend(marketing, claimed.map((m) => m.id), cadences);
  out.ready = out.ready.filter((x) => !out.capped.has(x.m.id));
  await tracking.save(out.ready.map((x) => x.m.id));
  return out;
}
