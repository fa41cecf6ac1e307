// Campaign housekeeping, once a second in whichever process holds the Redis lock: a running
// campaign whose fan-out is done and which has nothing queued or sending left is `completed`
// (read from the counters, not by counting messages); a running campaign whose last 500 SMTP
// attempts failed or bounced more than CAMPAIGN_MAX_FAILURE_RATE of the time is paused, with the
// reason on the campaign (from MIN_ATTEMPTS attempts on, so that one early failure does not stop it);
// a canceled campaign's messages given back by workers after the cancel are suppressed too.
import { config } from "../../platform/config.ts";
import { logger } from "../../platform/logger.ts";
import { pool } from "../../platform/prisma.ts";
import { onCommit, withTransaction } from "../../platform/sql.ts";
import { enqueueDeliveries, recordEvents } from "../webhooks/emit.ts";
import { redis } from "../../platform/redis.ts";
import { stopHandoffs } from "../../platform/handoff-gate.ts";
import { campaignCounts, transition } from "./campaigns.repository.ts";
import { suppressCanceled } from "./fanout.ts";
import { enqueueFanout } from "./lifecycle.service.ts";

const INTERVAL_MS = 1000;
const WINDOW = 500;
const MIN_ATTEMPTS = 20;
/** A page takes well under a second; a checkpoint this old means its job is gone. */
const FANOUT_STALL_MS = config.CAMPAIGN_FANOUT_STALL_MS;

export async function pauseFailing(): Promise<string[]> {
  // Attempts since the campaign started (a minute early: the app's and the database's clocks may
  // differ), newest first, through message_events_attempts_created_at_idx; the campaign is checked
  // per attempt by a subquery, so that the walk stops after WINDOW of them (as a join, the planner
  // hashed all of the campaign's messages every second). That walk is the plan wanted whatever the
  // statistics say (while a campaign fills an empty table they say "no rows": a sequential scan of
  // every event, 90 ms per tick at 100,000), and its cost estimate is the whole index (PostgreSQL
  // compiled it with JIT every time: 7 ms for a 1 ms query): both are pinned for this statement.
  const { rows } = await withTransaction(async (c) => {
    await c.query("SET LOCAL jit = off; SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off");
    return c.query<{ id: string; bad: number; n: number }>(
      `SELECT k.id, a.bad, a.n FROM campaigns k
         CROSS JOIN LATERAL (
           SELECT count(*) FILTER (WHERE x.type <> 'sent')::int AS bad, count(*)::int AS n FROM (
             SELECT e.type FROM message_events e
              WHERE e.type IN ('sent', 'failed', 'bounced', 'attempt_failed')
                AND e.created_at >= k.started_at - interval '1 minute'
                -- A claim released by the sweep (its worker died) is no SMTP attempt.
                AND NOT (e.type = 'attempt_failed' AND e.detail LIKE 'claim expired%')
                AND (SELECT m.campaign_id FROM messages m WHERE m.id = e.message_id) = k.id
              ORDER BY e.created_at DESC LIMIT ${WINDOW}) x) a
        WHERE k.status = 'running' AND a.n >= ${MIN_ATTEMPTS} AND a.bad > a.n * $1::float8`,
      [config.CAMPAIGN_MAX_FAILURE_RATE],
    );
  });
  const paused: string[] = [];
  for (const r of rows) {
    const reason = `failure_rate: ${r.bad} of the last ${r.n} attempts failed or bounced (limit ${Math.round(config.CAMPAIGN_MAX_FAILURE_RATE * 100)}%)`;
    await stopHandoffs({ campaignId: r.id }, { ttlMs: 0 });
    // Not running any more: a marketer paused or canceled it meanwhile, and the mark is theirs too
    // (one key per campaign), so it stays (lifting it let claimed messages go after their cancel).
    if (await transition(r.id, ["running"], "paused", { paused_reason: reason })) paused.push(r.id);
  }
  return paused;
}

/** Completes finished campaigns and records their campaign.completed webhook events with the change. */
export async function completeFinished(): Promise<string[]> {
  return withTransaction(async (c) => {
    const { rows } = await c.query<{ id: string; completed_at: Date }>(
      `UPDATE campaigns k SET status = 'completed', completed_at = now(), updated_at = now()
        WHERE k.status = 'running' AND k.fanout_done_at IS NOT NULL
          AND COALESCE((SELECT sum(n) FROM campaign_stats s WHERE s.campaign_id = k.id AND s.bucket IN ('queued', 'sending')), 0) = 0
        RETURNING k.id, k.completed_at`,
    );
    if (rows.length === 0) return [];
    // The same counts as GET /v1/campaigns/{id} (final: nothing is queued or sending any more).
    const counts = await campaignCounts(rows.map((r) => r.id));
    const deliveries = await recordEvents(c, rows.map((r) => ({
      type: "campaign.completed", at: r.completed_at, data: { campaignId: r.id, counts: counts.get(r.id)!.total },
    })));
    if (deliveries.length) onCommit(c, () => enqueueDeliveries(deliveries));
    return rows.map((r) => r.id);
  });
}

/**
 * A fan-out whose job was lost (Redis restarted empty) or whose worker died: its campaign is due,
 * not done, and its checkpoint has not moved for FANOUT_STALL_MS. A new job resumes from the
 * checkpoint; should the old one still be alive, both only repeat pages, which insert nothing twice.
 */
export async function resumeStalledFanouts(): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `UPDATE campaigns SET updated_at = now()
      WHERE status IN ('scheduled', 'running') AND fanout_done_at IS NULL AND fanout_max_customer_id IS NOT NULL
        -- Due for long enough that its own delayed job had its chance (local time: fanned out at once).
        AND (local_time IS NOT NULL OR scheduled_at IS NULL OR scheduled_at <= now() - make_interval(secs => $1::double precision / 1000))
        AND updated_at < now() - make_interval(secs => $1::double precision / 1000)
      RETURNING id`,
    [FANOUT_STALL_MS],
  );
  for (const r of rows) await enqueueFanout(r.id, 0, `resume-${Date.now().toString(36)}`);
  return rows.map((r) => r.id);
}

/**
 * Messages of a canceled campaign that were claimed when it was canceled come back to `queued` when
 * their worker gives them up (the hand-off refuses them): they are suppressed here too.
 */
export async function sweepCanceled(): Promise<number> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT k.id FROM campaigns k WHERE k.status = 'canceled' AND k.completed_at > now() - interval '1 day'
        AND COALESCE((SELECT sum(n) FROM campaign_stats s WHERE s.campaign_id = k.id AND s.bucket = 'queued'), 0) > 0`,
  );
  let n = 0;
  for (const r of rows) n += await suppressCanceled(r.id);
  return n;
}

export function startCampaignTicker(): { stop(): Promise<void> } {
  const key = `${config.QUEUE_PREFIX}:campaign-ticker-lock`;
  let running: Promise<unknown> | null = null;
  const tick = async () => {
    if ((await redis().set(key, String(process.pid), "PX", INTERVAL_MS - 50, "NX")) !== "OK") return;
    const paused = await pauseFailing();
    if (paused.length) logger.warn({ campaigns: paused }, "campaigns paused: too many failed attempts");
    await sweepCanceled();
    const resumed = await resumeStalledFanouts();
    if (resumed.length) logger.warn({ campaigns: resumed }, "campaign fan-outs resumed after their job stalled");
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
