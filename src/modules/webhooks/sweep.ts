// Deliveries whose job was lost (enqueue failed after the commit, Redis restarted, the worker died
// while holding them) are pending and long overdue: one process at a time (Redis lock) re-enqueues
// them. A duplicate job is harmless: the claim only takes due, pending deliveries.
import { config } from "../../platform/config.ts";
import { logger } from "../../platform/logger.ts";
import { redis } from "../../platform/redis.ts";
import { enqueueDeliveries } from "./emit.ts";
import { overdueDeliveries } from "./webhooks.repository.ts";

export async function sweepWebhooks(): Promise<number> {
  const overdue = await overdueDeliveries(config.WEBHOOK_SWEEP_INTERVAL_MS, 5000);
  if (overdue.length) {
    await enqueueDeliveries(overdue.map((d) => d.id), 0, `s${Date.now().toString(36)}`);
    logger.warn({ deliveries: overdue.length }, "webhook sweep re-enqueued overdue deliveries");
  }
  return overdue.length;
}

export function startWebhookSweeper(): { stop(): Promise<void> } {
  const key = `${config.QUEUE_PREFIX}:webhook-sweep-lock`;
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = (async () => {
      const got = await redis().set(key, String(process.pid), "PX", Math.max(100, config.WEBHOOK_SWEEP_INTERVAL_MS - 50), "NX");
      if (got === "OK") await sweepWebhooks();
    })()
      .catch((err: Error) => logger.error({ err: err.message }, "webhook sweep failed"))
      .finally(() => (running = null));
  }, config.WEBHOOK_SWEEP_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
