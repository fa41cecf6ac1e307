// Campaign housekeeping, once a second in whichever process holds the Redis lock: a running
// campaign whose fan-out is done and which has nothing queued or sending left is `completed`
// (read from the counters, not by counting messages).
import { config } from "../../platform/config.ts";
import { logger } from "../../platform/logger.ts";
import { pool } from "../../platform/prisma.ts";
import { redis } from "../../platform/redis.ts";

const INTERVAL_MS = 1000;

export async function completeFinished(): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `UPDATE campaigns k SET status = 'completed', completed_at = now(), updated_at = now()
      WHERE k.status = 'running' AND k.fanout_done_at IS NOT NULL
        AND COALESCE((SELECT sum(n) FROM campaign_stats s WHERE s.campaign_id = k.id AND s.bucket = 'queued'), 0) = 0
      RETURNING k.id`,
  );
  return rows.map((r) => r.id);
}

export function startCampaignTicker(): { stop(): Promise<void> } {
  const key = `${config.QUEUE_PREFIX}:campaign-ticker-lock`;
  let running: Promise<unknown> | null = null;
  const tick = async () => {
    if ((await redis().set(key, String(process.pid), "PX", INTERVAL_MS - 50, "NX")) !== "OK") return;
    const done = await completeFinished();
    if (done.length) logger.info({ campaigns: done }, "campaigns completed");
  };
  const timer = setInterval(() => {
    if (running) return;
    running = tick()
      .catch((err: Error) => logger.error({ err: err.message }, "campaign ticker failed"))
      .finally(() => (running = null));
  }, INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
