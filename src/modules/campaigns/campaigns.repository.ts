// Campaign rows (Prisma: not a hot path) and their counters (campaign_stats, kept by a trigger on
// messages; a read sums a few rows per persona and bucket whatever the campaign's size).
import type { Campaign } from "../../generated/prisma/client.ts";
import { pool } from "../../platform/prisma.ts";

export type CampaignRow = Campaign & { topic: { key: string; kind: "marketing" | "transactional" }; templateVersion: { version: number; template: { key: string } } };

export const include = { topic: { select: { key: true, kind: true } }, templateVersion: { select: { version: true, template: { select: { key: true } } } } } as const;

export interface Counts {
  targeted: number;
  queued: number;
  sent: number;
  suppressed: number;
  failed: number;
  bounced: number;
  suppressedByReason: Record<string, number>;
  // Engagement: messages opened / clicked by a person (a human click implies an open), machine ones
  // apart, unsubscribed and complained (engagement-counters.ts and the message_events trigger).
  opened: number;
  clicked: number;
  machineOpened: number;
  machineClicked: number;
  unsubscribed: number;
  complained: number;
}

const zero = (): Counts => ({
  targeted: 0, queued: 0, sent: 0, suppressed: 0, failed: 0, bounced: 0, suppressedByReason: {},
  opened: 0, clicked: 0, machineOpened: 0, machineClicked: 0, unsubscribed: 0, complained: 0,
});

function add(c: Counts, bucket: string, n: number): void {
  if (bucket.startsWith("suppressed:")) {
    const reason = bucket.slice("suppressed:".length);
    c.suppressed += n;
    c.suppressedByReason[reason] = (c.suppressedByReason[reason] ?? 0) + n;
  } else if (bucket in c && bucket !== "suppressedByReason") (c as unknown as Record<string, number>)[bucket] += n;
}

/** Totals and per-persona counts of campaigns, from the counters. */
export async function campaignCounts(ids: string[]): Promise<Map<string, { total: Counts; byPersona: Map<string, Counts> }>> {
  const out = new Map<string, { total: Counts; byPersona: Map<string, Counts> }>();
  for (const id of ids) out.set(id, { total: zero(), byPersona: new Map() });
  if (ids.length === 0) return out;
  const { rows } = await pool.query<{ campaign_id: string; persona: string; bucket: string; n: string }>(
    `SELECT campaign_id, persona, bucket, sum(n)::bigint AS n FROM campaign_stats WHERE campaign_id = ANY($1::uuid[])
      GROUP BY campaign_id, persona, bucket`,
    [ids],
  );
  for (const r of rows) {
    const e = out.get(r.campaign_id)!;
    const n = Number(r.n);
    add(e.total, r.bucket, n);
    let p = e.byPersona.get(r.persona);
    if (!p) e.byPersona.set(r.persona, (p = zero()));
    add(p, r.bucket, n);
  }
  return out;
}

/**
 * Compare-and-set of the campaign status: only from one of `from`. Returns whether it changed, so
 * two concurrent actions cannot both win.
 */
export async function transition(id: string, from: string[], to: string, set: Record<string, unknown> = {}): Promise<boolean> {
  const cols = Object.keys(set);
  const assignments = cols.map((c, i) => `${c} = $${i + 4}`).join(", ");
  const { rowCount } = await pool.query(
    `UPDATE campaigns SET status = $2::"CampaignStatus", updated_at = now()${assignments ? `, ${assignments}` : ""}
      WHERE id = $1::uuid AND status = ANY($3::"CampaignStatus"[])`,
    [id, to, from, ...cols.map((c) => set[c])],
  );
  return (rowCount ?? 0) > 0;
}

/** The most clicked links of a campaign (human clicks first), from the per-link counters. */
export async function topLinks(id: string, limit = 10): Promise<Array<{ url: string; clicks: number; machineClicks: number }>> {
  const { rows } = await pool.query<{ url: string; clicks: string; machine_clicks: string }>(
    `SELECT url, sum(clicks)::bigint AS clicks, sum(machine_clicks)::bigint AS machine_clicks FROM campaign_link_stats
      WHERE campaign_id = $1::uuid GROUP BY url ORDER BY 2 DESC, 3 DESC, url LIMIT $2`,
    [id, limit],
  );
  return rows.map((r) => ({ url: r.url, clicks: Number(r.clicks), machineClicks: Number(r.machine_clicks) }));
}

/** Per minute: messages sent, and messages first opened / clicked by a person. */
export async function timeline(id: string): Promise<Array<{ minute: Date; sent: number; opened: number; clicked: number }>> {
  const { rows } = await pool.query<{ minute: Date; sent: string; opened: string; clicked: string }>(
    `SELECT minute, sum(n) FILTER (WHERE bucket = 'sent')::bigint AS sent, sum(n) FILTER (WHERE bucket = 'opened')::bigint AS opened,
            sum(n) FILTER (WHERE bucket = 'clicked')::bigint AS clicked
       FROM campaign_timeline WHERE campaign_id = $1::uuid GROUP BY minute ORDER BY minute LIMIT 20000`,
    [id],
  );
  return rows.map((r) => ({ minute: r.minute, sent: Number(r.sent ?? 0), opened: Number(r.opened ?? 0), clicked: Number(r.clicked ?? 0) }));
}
