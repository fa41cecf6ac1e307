// Delivery of campaign messages in waves: one delayed job per distinct send instant (timezone x
// local time x window), never one per recipient. A wave job carries the campaign id and its instant
// only; when it fires it walks the campaign's due `queued` messages in keyset pages and hands them
// to the campaign delivery lane. Messages due now skip the wave and go to the lane at once.
import { pool } from "../../platform/prisma.ts";
import { enqueue, QueueNames } from "../../platform/queues.ts";
import { enqueueDelivery } from "../delivery/dispatch.ts";

const PAGE = 1000;
/** Instants closer than this are "now": their rows are committed, so the lane gets them directly. */
const NOW_MS = 1000;

export interface WaveJob {
  campaignId: string;
  /** The wave's instant, ms since the epoch (whole seconds). */
  waveAt: number;
}

/** One delayed job per instant, all in one call (BullMQ keeps the first job of an id). */
export async function enqueueWaves(campaignId: string, instants: Iterable<number>, tag = ""): Promise<void> {
  const jobs = [...instants].map((waveAt) => ({ id: `wave-${campaignId}-${waveAt}${tag}`, data: { campaignId, waveAt }, at: waveAt }));
  if (jobs.length > 0) await enqueue<WaveJob>(QueueNames.campaignFanout, jobs);
}

/** Called with a page's queued rows (after their insert committed). */
export async function scheduleWaves(campaignId: string, rows: Array<{ id: string; sendAt: Date | null }>): Promise<void> {
  const now: string[] = [];
  const later = new Set<number>();
  for (const r of rows) {
    const t = r.sendAt?.getTime() ?? 0;
    if (t <= Date.now() + NOW_MS) now.push(r.id);
    else later.add(Math.ceil(t / 1000) * 1000);
  }
  if (now.length > 0) await enqueueDelivery(now, { tag: `c${Date.now().toString(36)}`, lane: "campaign", campaignId });
  // Same instant from many pages: one job.
  await enqueueWaves(campaignId, later);
}

/** A wave fires: every due queued message of the campaign goes to the delivery lane. */
export async function runWave(campaignId: string): Promise<number> {
  let after = "00000000-0000-0000-0000-000000000000";
  let total = 0;
  for (;;) {
    const { rows } = await pool.query<{ id: string }>(
      `SELECT m.id FROM messages m JOIN campaigns k ON k.id = m.campaign_id AND k.status = 'running'
        WHERE m.campaign_id = $1::uuid AND m.status = 'queued' AND m.id > $2::uuid
          AND (m.send_at IS NULL OR m.send_at <= now() + interval '2 seconds')
        ORDER BY m.id LIMIT ${PAGE}`,
      [campaignId, after],
    );
    if (rows.length === 0) return total;
    await enqueueDelivery(rows.map((r) => r.id), { tag: `w${Date.now().toString(36)}`, lane: "campaign", campaignId });
    total += rows.length;
    after = rows[rows.length - 1].id;
  }
}

/** After a resume: due messages now, and one wave per later instant still ahead. */
export async function rescheduleWaves(campaignId: string): Promise<void> {
  const tag = `-r${Date.now().toString(36)}`;
  const { rows } = await pool.query<{ at: string }>(
    `SELECT DISTINCT (ceil(extract(epoch FROM send_at)) * 1000)::bigint AS at FROM messages
      WHERE campaign_id = $1::uuid AND status = 'queued' AND send_at > now() + interval '2 seconds'`,
    [campaignId],
  );
  await enqueueWaves(campaignId, [Date.now(), ...rows.map((r) => Number(r.at))], tag);
}
