// Campaign lifecycle: draft -> scheduled -> running -> completed, with paused (by a marketer, or by
// the engine on too many failures) and canceled. Every change is a compare-and-set on the status
// (campaigns.repository.ts transition), so concurrent actions cannot both win.
import { config } from "../../platform/config.ts";
import { AppError, conflict } from "../../platform/errors.ts";
import { enqueue, QueueNames } from "../../platform/queues.ts";
import { prepareTemplate } from "../../templates/compiled.ts";
import { renderMessage } from "../../templates/render.ts";
import { ComplianceError } from "../../templates/errors.ts";
import { templateVersions } from "../delivery/delivery.repository.ts";
import { liftStopIf, stopHandoffs, stopMark } from "../../platform/handoff-gate.ts";
import { highestCustomerId } from "./audience.ts";
import { transition } from "./campaigns.repository.ts";
import { findCampaign, getCampaign } from "./campaigns.service.ts";
import { suppressCanceled } from "./fanout.ts";
import { rescheduleWaves } from "./waves.ts";

export interface FanoutJob {
  campaignId: string;
}

export async function enqueueFanout(campaignId: string, delayMs = 0, tag = Date.now().toString(36)): Promise<void> {
  await enqueue<FanoutJob>(QueueNames.campaignFanout, [{ id: `fanout-${campaignId}-${tag}`, data: { campaignId }, delayMs }]);
}

/**
 * The marketing compliance guard, before anything is sent: the default content and every persona
 * variant must render with the unsubscribe link and the postal address (422 otherwise). Errors that
 * depend on per-recipient data are not this guard's business.
 */
async function checkCompliance(templateVersionId: string): Promise<void> {
  const tv = (await templateVersions([templateVersionId])).get(templateVersionId);
  if (!tv) return;
  await prepareTemplate(tv); // compiled off the event loop (a template that cannot compile is 422 there)
  const personas = [null, ...tv.variants.map((v) => v.persona)];
  for (const key of personas) {
    try {
      renderMessage({
        template: tv, kind: "marketing", mode: "preview", data: {},
        customer: { id: "compliance-check", name: "Compliance check", email: "check@example.invalid", locale: null, timezone: null, attributes: {} },
        persona: key ? { key, name: key, description: null, story: null, goals: [], concerns: [], interests: [] } : null,
        unsubscribeUrl: `${config.publicUrl}/u/compliance-check`,
        preferencesUrl: `${config.publicUrl}/preferences/compliance-check`,
      });
    } catch (err) {
      if (err instanceof ComplianceError) {
        const where = `Template version ${tv.version}${key ? ` (variant for persona '${key}')` : ""}`;
        throw new AppError("unprocessable", `${where}: ${err.message}`, { extra: { missing: err.missing, persona: key } });
      }
    }
  }
}

export async function scheduleCampaign(id: string) {
  const c = await findCampaign(id);
  if (c.status !== "draft") throw conflict(`Campaign is ${c.status}; only a draft can be scheduled`);
  if (c.topic.kind === "marketing") await checkCompliance(c.templateVersionId);
  const max = (await highestCustomerId()) ?? "00000000-0000-0000-0000-000000000000";
  const scheduledAt = c.scheduledAt ?? new Date();
  if (!(await transition(id, ["draft"], "scheduled", { fanout_max_customer_id: max, scheduled_at: scheduledAt }))) {
    throw conflict("Campaign is no longer a draft");
  }
  // With localTime the fan-out runs now (each message carries its own send_at); otherwise at scheduledAt.
  await enqueueFanout(id, c.localTime ? 0 : scheduledAt.getTime() - Date.now());
  return getCampaign(id);
}

/**
 * Pause: the campaign's scope is stopped at the hand-off gate (platform/handoff-gate.ts) first, and
 * the stop waits for the campaign's hand-offs already admitted, so when this returns nothing more of
 * it reaches SMTP on any worker process, claimed messages included (they are given back, `queued`).
 * Then the status (claims skip a campaign that is not running). A gate that cannot be reached is 503
 * and changes nothing.
 */
export async function pauseCampaign(id: string, reason: string | null = null) {
  const c = await findCampaign(id);
  if (!["scheduled", "running"].includes(c.status)) throw conflict(`Campaign is ${c.status}; only a scheduled or running campaign can be paused`);
  await stopHandoffs({ campaignId: id }, { ttlMs: 0 });
  if (!(await transition(id, ["scheduled", "running"], "paused", { paused_reason: reason }))) {
    // Paused, canceled or completed meanwhile: the mark (one key per campaign) is the other stop's too.
    throw conflict("Campaign changed meanwhile; it was not paused");
  }
  return getCampaign(id);
}

export async function resumeCampaign(id: string) {
  const c = await findCampaign(id);
  const to = c.startedAt ? "running" : "scheduled";
  // The pause's own mark, read while the campaign is still paused: a pause made after the resume
  // writes a new one, which this lift leaves in place.
  const mark = await stopMark({ campaignId: id });
  if (!(await transition(id, ["paused"], to, { paused_reason: null }))) throw conflict(`Campaign is ${c.status}; only a paused campaign can be resumed`);
  await liftStopIf({ campaignId: id }, mark);
  if (!c.fanoutDoneAt) await enqueueFanout(id, to === "scheduled" && !c.localTime && c.scheduledAt ? c.scheduledAt.getTime() - Date.now() : 0);
  if (to === "running") await rescheduleWaves(id);
  return getCampaign(id);
}

/** Cancel: stopped at the gate like pause (for as long as any claim can live), then final. */
export async function cancelCampaign(id: string) {
  const c = await findCampaign(id);
  if (["completed", "canceled"].includes(c.status)) throw conflict(`Campaign is ${c.status}; it cannot be canceled`);
  await stopHandoffs({ campaignId: id });
  if (!(await transition(id, ["draft", "scheduled", "running", "paused"], "canceled", { completed_at: new Date() }))) {
    throw conflict(`Campaign is ${c.status}; it cannot be canceled`);
  }
  await suppressCanceled(id);
  return getCampaign(id);
}
