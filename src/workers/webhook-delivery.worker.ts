import type { Job } from "bullmq";
import { z } from "zod";
import { deliverWebhooks } from "../modules/webhooks/deliver.service.ts";
import { startWebhookSweeper } from "../modules/webhooks/sweep.ts";

const data = z.object({ ids: z.array(z.uuid()).min(1).max(1000) });

export async function processWebhookDelivery(job: Job): Promise<void> {
  await deliverWebhooks(data.parse(job.data).ids);
}

let sweeper: { stop(): Promise<void> } | null = null;

export function startWebhookDelivery(): void {
  sweeper ??= startWebhookSweeper();
}

export async function stopWebhookDelivery(): Promise<void> {
  await sweeper?.stop();
  sweeper = null;
}
