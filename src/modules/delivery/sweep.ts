// Nothing is stranded: a worker that crashed leaves rows in `sending`, a lost job (Redis restarted,
// enqueue failed after commit) leaves rows in `queued`. A periodic sweep, run by one process at a time
// (Redis lock), puts both back on the queue. Duplicate jobs are harmless (the claim is a status lock)
// but cost work, so a row whose job is still waiting is not enqueued again.
import { config } from "../../platform/config.ts";
import { logger } from "../../platform/logger.ts";
import { oldestPendingJobAt, QueueNames } from "../../platform/queues.ts";
import { redis } from "../../platform/redis.ts";
import { releaseExpiredClaims, touchStrandedQueued } from "./delivery.repository.ts";
import { enqueueDelivery } from "./dispatch.ts";
import { unwrittenKey } from "./outcome-writer.ts";

const LIMIT = 5000;
/** How often every worker process checks that Redis still has its data (a restart loses the queues). */
const SENTINEL_MS = 1000;

/**
 * Sweeps in rounds of LIMIT rows until nothing is left or half the sweep interval is used (the lock
 * outlives that), so a million jobs lost with a Redis restart come back in minutes, not hours.
 */
export async function sweep(opts: { queuedAfterMs?: number } = {}): Promise<{ released: number; requeued: number }> {
  const margin = opts.queuedAfterMs ?? config.SEND_SWEEP_QUEUED_AFTER_MS;
  const total = { released: 0, requeued: 0 };
  const until = Date.now() + config.SEND_SWEEP_INTERVAL_MS / 2;
  for (let after = ""; ; ) {
    const r = await sweepRound(after, margin);
    total.released += r.released;
    total.requeued += r.requeued;
    after = r.last;
    if ((r.released < LIMIT && r.requeued < LIMIT) || Date.now() > until) return total;
  }
}

async function sweepRound(after: string, margin: number): Promise<{ released: number; requeued: number; last: string }> {
  // A claim older than the timeout: the worker died between claiming and recording. If it died after
  // SMTP accepted the message, re-sending duplicates it: the one at-least-once window (documented).
  // Not while a worker still holds outcomes it could not write (the database was away): those claims
  // are still in use, and their `sent` marks land first.
  const writesPending = (await redis().exists(unwrittenKey())) === 1;
  const released = writesPending ? [] : await releaseExpiredClaims(config.SEND_CLAIM_TIMEOUT_MS, LIMIT);
  // Queued and due, untouched since well before the oldest job still waiting or running was added:
  // its job is gone (a row with a live job was touched when that job was added, or later). With an
  // empty queue (after a Redis restart, say) that is every row older than the margin.
  const pending = await Promise.all([QueueNames.messageDelivery, QueueNames.campaignDelivery].map(oldestPendingJobAt));
  const oldest = Math.min(Date.now(), ...pending.filter((t): t is number => t !== null && t !== undefined));
  const stranded = await touchStrandedQueued({ marginMs: margin, oldestJobAt: oldest, after, limit: LIMIT });
  const rows = [...released, ...stranded];
  if (rows.length > 0) {
    // Each back into its own lane: a campaign's messages must not jump the transactional queue.
    for (const lane of ["api", "campaign"] as const) {
      const ids = rows.filter((r) => r.campaign === (lane === "campaign")).map((r) => r.id);
      if (ids.length > 0) await enqueueDelivery(ids, { tag: `s${Date.now().toString(36)}${lane[0]}`, lane });
    }
    logger.warn({ released: released.length, requeued: stranded.length }, "delivery sweep re-enqueued messages");
  }
  const last = stranded.reduce((m, r) => (r.id > m ? r.id : m), after);
  return { released: released.length, requeued: stranded.length, last };
}

/**
 * Runs the sweep every SEND_SWEEP_INTERVAL_MS in whichever process takes the lock first, and at once
 * when Redis lost its data (a sentinel key gone: restarted with nothing kept, so every job is gone),
 * then once more after the margin, for rows whose enqueue was under way at the restart.
 */
export function startSweeper(): { stop(): Promise<void> } {
  const lock = `${config.QUEUE_PREFIX}:delivery-sweep-lock`;
  const sentinel = `${config.QUEUE_PREFIX}:delivery-sentinel`;
  let running: Promise<unknown> | null = null;
  let followUp: NodeJS.Timeout | null = null;
  const run = (force: boolean) => {
    if (running) return;
    running = (async () => {
      if (force) await redis().del(lock);
      const got = await redis().set(lock, String(process.pid), "PX", Math.max(1000, config.SEND_SWEEP_INTERVAL_MS - 50), "NX");
      if (got === "OK") await sweep();
    })()
      .catch((err: Error) => logger.error({ err: err.message }, "delivery sweep failed"))
      .finally(() => (running = null));
  };
  const timer = setInterval(() => run(false), config.SEND_SWEEP_INTERVAL_MS);
  const watch = setInterval(() => {
    void redis().set(sentinel, String(Date.now()), "NX").then(
      (created) => {
        if (created !== "OK") return;
        logger.warn("Redis has lost its data (or is new): sweeping for messages whose jobs are gone");
        run(true);
        if (followUp) clearTimeout(followUp);
        followUp = setTimeout(() => run(true), config.SEND_SWEEP_QUEUED_AFTER_MS + 1000);
        followUp.unref();
      },
      () => undefined, // Redis away: the check runs again in a second
    );
  }, SENTINEL_MS);
  timer.unref();
  watch.unref();
  return {
    async stop() {
      clearInterval(timer);
      clearInterval(watch);
      if (followUp) clearTimeout(followUp);
      await running;
    },
  };
}
