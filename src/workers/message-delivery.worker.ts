import type { Job } from "bullmq";
import { z } from "zod";
import { deliver } from "../modules/delivery/batcher.ts";
import { startSweeper } from "../modules/delivery/sweep.ts";

const data = z.object({ ids: z.array(z.uuid()).min(1).max(1000) });

export async function processMessageDelivery(job: Job): Promise<void> {
  await deliver(data.parse(job.data).ids);
}

let sweeper: { stop(): Promise<void> } | null = null;

/** Worker start: run the periodic sweep (stale claims, lost jobs). */
export function startMessageDelivery(): void {
  sweeper ??= startSweeper();
}

/** Before the worker closes: stop the sweep. */
export async function stopMessageDelivery(): Promise<void> {
  await sweeper?.stop();
  sweeper = null;
}
