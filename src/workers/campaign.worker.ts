import type { Job } from "bullmq";
import { z } from "zod";
import { startCampaignTicker } from "../modules/campaigns/ticker.ts";
import { runFanout } from "../modules/campaigns/fanout.ts";
import { runWave } from "../modules/campaigns/waves.ts";
import { deliver } from "../modules/delivery/batcher.ts";

// A fan-out job names the campaign; a wave job also its instant.
const data = z.object({ campaignId: z.uuid(), waveAt: z.number().int().optional() });

export async function processCampaignJob(job: Job): Promise<void> {
  const d = data.parse(job.data);
  if (d.waveAt !== undefined) await runWave(d.campaignId);
  else await runFanout(d.campaignId);
}

const ids = z.object({ ids: z.array(z.uuid()).min(1).max(1000) });

/** The campaign lane of delivery (see modules/delivery/dispatch.ts). */
export async function processCampaignDelivery(job: Job): Promise<void> {
  await deliver(ids.parse(job.data).ids, "campaign");
}

let ticker: { stop(): Promise<void> } | null = null;
export function startCampaigns(): void {
  ticker ??= startCampaignTicker();
}
export async function stopCampaigns(): Promise<void> {
  await ticker?.stop();
  ticker = null;
}
