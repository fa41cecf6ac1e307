// Campaign counts and per-persona stats are kept incrementally by the campaigns module's summary
// table. The writer computes, per batch, how many messages of each campaign x persona became
// (human) opened, clicked, machine-opened and machine-clicked, and hands those deltas to the sinks
// registered here, inside the batch's transaction (so counts and raw events commit together).
import type pg from "pg";
import type { Counts } from "./engagement.repository.ts";

export interface CampaignEngagementDelta {
  campaignId: string;
  persona: string | null;
  /** Messages first opened by a person (a human click implies an open). */
  opened: number;
  clicked: number;
  machineOpened: number;
  machineClicked: number;
}

export type CampaignEngagementSink = (client: pg.PoolClient, deltas: CampaignEngagementDelta[]) => Promise<void>;
const sinks: CampaignEngagementSink[] = [];

/** The campaigns module registers its summary-table update here (see the report / CONTEXT.md). */
export function onCampaignEngagement(sink: CampaignEngagementSink): void {
  sinks.push(sink);
}

const humanOpened = (c: Counts) => c.opens + c.clicks > 0;

/** 0 -> 1 transitions of each per-message flag, summed per campaign x persona. */
export function campaignDeltas(
  changes: Array<{ before: Counts; after: Counts }>,
  messages: Map<string, { campaign_id: string | null; persona_key: string | null }>,
): CampaignEngagementDelta[] {
  const out = new Map<string, CampaignEngagementDelta>();
  for (const { before, after } of changes) {
    const m = messages.get(after.messageId);
    if (!m?.campaign_id) continue;
    const k = `${m.campaign_id}|${m.persona_key ?? ""}`;
    const d = out.get(k) ?? { campaignId: m.campaign_id, persona: m.persona_key, opened: 0, clicked: 0, machineOpened: 0, machineClicked: 0 };
    d.opened += Number(!humanOpened(before) && humanOpened(after));
    d.clicked += Number(before.clicks === 0 && after.clicks > 0);
    d.machineOpened += Number(before.machineOpens === 0 && after.machineOpens > 0);
    d.machineClicked += Number(before.machineClicks === 0 && after.machineClicks > 0);
    out.set(k, d);
  }
  return [...out.values()].filter((d) => d.opened + d.clicked + d.machineOpened + d.machineClicked > 0);
}

export async function applyCampaignDeltas(client: pg.PoolClient, deltas: CampaignEngagementDelta[]): Promise<void> {
  if (deltas.length === 0) return;
  for (const s of sinks) await s(client, deltas);
}
