// Nothing is stranded: a worker that crashed leaves rows in `sending`, a lost job (Redis restarted,
// enqueue failed after commit) leaves rows in `queued`. A periodic sweep, run by one process at a time
// (Redis lock), puts both back on the queue. Duplicate jobs are harmless: the claim is a status lock.
import { config } from "../../platform/config.ts";
import { logger } from "../../platform/logger.ts";
import { pool } from "../../platform/prisma.ts";
import { redis } from "../../platform/redis.ts";
import { enqueueDelivery } from "./dispatch.ts";

const LIMIT = 5000;

/**
 * Sweeps in rounds of LIMIT rows until nothing is left or half the sweep interval is used (the lock
 * outlives that), so a million jobs lost with a Redis restart come back in minutes, not hours.
 */
export async function sweep(): Promise<{ released: number; requeued: number }> {
  const total = { released: 0, requeued: 0 };
  const until = Date.now() + config.SEND_SWEEP_INTERVAL_MS / 2;
  for (;;) {
    const r = await sweepRound();
    total.released += r.released;
    total.requeued += r.requeued;
    if ((r.released < LIMIT && r.requeued < LIMIT) || Date.now() > until) return total;
  }
}

async function sweepRound(): Promise<{ released: number; requeued: number }> {
  // A claim older than the timeout: the worker died between claiming and recording. If it died after
  // SMTP accepted the message, re-sending duplicates it: the one at-least-once window (documented).
  const released = await pool.query<{ id: string }>(
    `WITH r AS (
       UPDATE messages m SET status = 'queued', claimed_at = NULL, updated_at = now()
        WHERE m.id IN (SELECT id FROM messages WHERE status = 'sending' AND claimed_at < now() - make_interval(secs => $1::double precision / 1000)
                        ORDER BY id LIMIT ${LIMIT} FOR UPDATE SKIP LOCKED)
          AND m.status = 'sending'
       RETURNING m.id, m.customer_id),
     e AS (
       INSERT INTO message_events (message_id, customer_id, type, detail, created_at)
       SELECT id, customer_id, 'attempt_failed', 'claim expired: the worker stopped before recording an outcome', now() FROM r)
     SELECT id FROM r`,
    [config.SEND_CLAIM_TIMEOUT_MS],
  );
  // Queued, due, and untouched for a while: its job is gone. Touching updated_at spaces re-enqueues.
  const stranded = await pool.query<{ id: string }>(
    `UPDATE messages m SET updated_at = now()
      WHERE m.id IN (SELECT id FROM messages
                      WHERE status = 'queued' AND updated_at < now() - make_interval(secs => $1::double precision / 1000)
                        AND (send_at IS NULL OR send_at < now() - make_interval(secs => $1::double precision / 1000))
                      ORDER BY id LIMIT ${LIMIT} FOR UPDATE SKIP LOCKED)
        AND m.status = 'queued'
      RETURNING m.id`,
    [config.SEND_SWEEP_QUEUED_AFTER_MS],
  );
  const ids = [...released.rows, ...stranded.rows].map((r) => r.id);
  if (ids.length > 0) {
    await enqueueDelivery(ids, { tag: `s${Date.now().toString(36)}` });
    logger.warn({ released: released.rowCount, requeued: stranded.rowCount }, "delivery sweep re-enqueued messages");
  }
  return { released: released.rowCount ?? 0, requeued: stranded.rowCount ?? 0 };
}

/** Runs the sweep every SEND_SWEEP_INTERVAL_MS in whichever process takes the lock first. */
export function startSweeper(): { stop(): Promise<void> } {
  const key = `${config.QUEUE_PREFIX}:delivery-sweep-lock`;
  let running: Promise<unknown> | null = null;
  const tick = async () => {
    const got = await redis().set(key, String(process.pid), "PX", Math.max(1000, config.SEND_SWEEP_INTERVAL_MS - 50), "NX");
    if (got === "OK") await sweep();
  };
  const timer = setInterval(() => {
    if (running) return;
    running = tick()
      .catch((err: Error) => logger.error({ err: err.message }, "delivery sweep failed"))
      .finally(() => (running = null));
  }, config.SEND_SWEEP_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
