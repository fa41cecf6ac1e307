// The fan-out: walks a campaign's audience in keyset pages of PAGE customers (never OFFSET, never
// the whole audience in memory), bounded by the highest customer id at schedule time, and accepts
// each page through the one acceptance path (../messages/accept.ts: consent, suppression, cap,
// one insert, one enqueue). The campaign row keeps a checkpoint (the last customer id walked), so a
// restarted job resumes there; a page repeated after a crash inserts nothing twice (unique
// campaign + customer). Messages carry their send_at (local time, send window); delivery is
// scheduled per wave, one delayed job per distinct send instant (waves.ts).
import { logger } from "../../platform/logger.ts";
import { pool } from "../../platform/prisma.ts";
import { acceptBatch } from "../messages/accept.ts";
import { suppressQueued } from "../delivery/delivery.repository.ts";
import { audiencePage } from "./audience.ts";
import type { Audience } from "./campaigns.schema.ts";
import { transition } from "./campaigns.repository.ts";
import { sendAtFor } from "./local-time.ts";
import { scheduleWaves } from "./waves.ts";

export const PAGE = 1000;
/** The most customers one page reads to find its members (an audience of one in 16 fills half a page). */
const MAX_SCAN = 16 * PAGE;
const ZERO = "00000000-0000-0000-0000-000000000000";

interface FanoutRow {
  status: string;
  audience: Audience;
  topic_id: string;
  topic_kind: "marketing" | "transactional";
  template_version_id: string;
  scheduled_at: Date | null;
  local_time: string | null;
  default_timezone: string | null;
  send_window_start: string | null;
  send_window_end: string | null;
  fanout_after: string | null;
  fanout_max_customer_id: string | null;
  fanout_done_at: Date | null;
}

async function load(id: string): Promise<FanoutRow | null> {
  const { rows } = await pool.query<FanoutRow>(
    `SELECT k.status, k.audience, k.topic_id, t.kind AS topic_kind, k.template_version_id, k.scheduled_at, k.local_time,
            k.default_timezone, k.send_window_start, k.send_window_end, k.fanout_after, k.fanout_max_customer_id, k.fanout_done_at
       FROM campaigns k JOIN topics t ON t.id = k.topic_id WHERE k.id = $1::uuid`,
    [id],
  );
  return rows[0] ?? null;
}

async function statusOf(id: string): Promise<string | null> {
  const { rows } = await pool.query<{ status: string }>("SELECT status FROM campaigns WHERE id = $1::uuid", [id]);
  return rows[0]?.status ?? null;
}

/** Cancel's sweep of unsent messages: queued ones become suppressed/canceled, in rounds. */
export async function suppressCanceled(campaignId: string): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await suppressQueued(pool, { campaignId }, "canceled");
    total += n;
    if (n === 0) return total;
  }
}

/** Runs (or resumes) a campaign's fan-out. Returns without error when the campaign is paused or canceled. */
export async function runFanout(campaignId: string): Promise<{ pages: number; accepted: number }> {
  const c = await load(campaignId);
  const done = { pages: 0, accepted: 0 };
  if (!c || c.fanout_done_at || !["scheduled", "running"].includes(c.status) || !c.fanout_max_customer_id) return done;
  await transition(campaignId, ["scheduled"], "running", { started_at: new Date() });
  const window = c.send_window_start && c.send_window_end ? { start: c.send_window_start, end: c.send_window_end } : null;
  const base = c.scheduled_at ?? new Date();
  let after = c.fanout_after ?? ZERO;
  let scan = PAGE;
  for (;;) {
    // Pause and cancel stop the walk between pages; a page inserted while cancel ran is swept here.
    const status = await statusOf(campaignId);
    if (status === "canceled") await suppressCanceled(campaignId);
    if (status !== "running") return done;
    const { members: page, next } = await audiencePage(c.audience, campaignId, { after, max: c.fanout_max_customer_id }, PAGE, scan);
    if (next === null) break;
    // Customers read per page follow the audience's density: a sparse one reads further ahead.
    scan = page.length === PAGE ? Math.max(PAGE, scan / 2) : page.length < PAGE / 2 ? Math.min(MAX_SCAN, scan * 2) : scan;
    const items = page.map((m) => ({
      customerId: m.id,
      personaKey: m.persona,
      sendAt: sendAtFor({ base, localTime: c.local_time, window, zones: [m.timezone, c.default_timezone] }),
    }));
    const r = items.length === 0 ? { rows: [] } : await acceptBatch({
      topic: { id: c.topic_id, kind: c.topic_kind }, templateVersionId: c.template_version_id, campaignId, items,
      enqueue: (rows) => scheduleWaves(campaignId, rows),
    });
    after = next;
    await pool.query("UPDATE campaigns SET fanout_after = $2::uuid, updated_at = now() WHERE id = $1::uuid", [campaignId, after]);
    done.pages++;
    done.accepted += r.rows.filter(Boolean).length;
  }
  await pool.query("UPDATE campaigns SET fanout_done_at = now(), updated_at = now() WHERE id = $1::uuid", [campaignId]);
  logger.info({ campaignId, ...done }, "campaign fan-out finished");
  return done;
}
