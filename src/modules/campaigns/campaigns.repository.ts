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
  // Engagement (opens, clicks, unsubscribes, complaints) is not recorded yet: always 0 here.
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
