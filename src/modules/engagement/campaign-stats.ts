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

/** One stored click on a link of a campaign message (for clicks per link; the honeypot excluded). */
export interface CampaignLinkClick {
  campaignId: string;
  messageId: string;
  linkIndex: number;
  machine: boolean;
}

export type CampaignEngagementSink = (client: pg.PoolClient, deltas: CampaignEngagementDelta[], clicks: CampaignLinkClick[]) => Promise<void>;
const sinks: CampaignEngagementSink[] = [];

/** The campaigns module registers its summary-table update here (campaigns/engagement-counters.ts). */
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

/** The batch's clicks on real links of campaign messages. */
export function campaignLinkClicks(
  rows: Array<{ messageId: string; type: "open" | "click"; linkIndex: number | null; machine: boolean }>,
  messages: Map<string, { campaign_id: string | null }>,
): CampaignLinkClick[] {
  return rows.flatMap((r) => {
    const campaignId = messages.get(r.messageId)?.campaign_id;
    return r.type === "click" && campaignId && r.linkIndex !== null && r.linkIndex >= 0
      ? [{ campaignId, messageId: r.messageId, linkIndex: r.linkIndex, machine: r.machine }]
      : [];
  });
}

export async function applyCampaignDeltas(client: pg.PoolClient, deltas: CampaignEngagementDelta[], clicks: CampaignLinkClick[] = []): Promise<void> {
  if (deltas.length === 0 && clicks.length === 0) return;
  for (const s of sinks) await s(client, deltas, clicks);
}
