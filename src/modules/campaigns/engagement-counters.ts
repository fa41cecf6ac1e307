// Engagement into the campaign counters: the engagement writer hands each batch's per-campaign x
// persona transitions (first human open, first click, machine ones apart) and its link clicks to
// this sink, inside the batch's transaction, so counters and raw events commit together. Reads
// then sum a few counter rows (campaign_stats, campaign_timeline, campaign_link_stats), never the
// events.
import type pg from "pg";
import { onCampaignEngagement, type CampaignEngagementDelta, type CampaignLinkClick } from "../engagement/campaign-stats.ts";
import { values } from "../../platform/sql.ts";

const BUCKETS = ["opened", "clicked", "machineOpened", "machineClicked"] as const;

export async function recordCampaignEngagement(c: pg.PoolClient, deltas: CampaignEngagementDelta[], clicks: CampaignLinkClick[]): Promise<void> {
  const rows = deltas.flatMap((d) => BUCKETS.filter((b) => d[b] > 0).map((b) => [d.campaignId, d.persona ?? "", b, d[b]]));
  if (rows.length > 0) {
    const v = values(rows, ["::uuid", "", "", "::bigint"]);
    // Sorted, so two writers' batches take the counter rows in the same order (no deadlock).
    await c.query(
      `INSERT INTO campaign_stats AS s (campaign_id, persona, bucket, shard, n)
       SELECT v.id, v.p, v.b, (pg_backend_pid() % 4)::smallint, sum(v.n) FROM (VALUES ${v.sql}) AS v(id, p, b, n)
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
       ON CONFLICT (campaign_id, persona, bucket, shard) DO UPDATE SET n = s.n + EXCLUDED.n`,
      v.params,
    );
    // The chart: people who opened or clicked, per minute of the write.
    await c.query(
      `INSERT INTO campaign_timeline AS s (campaign_id, minute, bucket, shard, n)
       SELECT v.id, date_trunc('minute', now()), v.b, (pg_backend_pid() % 4)::smallint, sum(v.n) FROM (VALUES ${v.sql}) AS v(id, p, b, n)
        WHERE v.b IN ('opened', 'clicked') GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
       ON CONFLICT (campaign_id, minute, bucket, shard) DO UPDATE SET n = s.n + EXCLUDED.n`,
      v.params,
    );
  }
  if (clicks.length > 0) {
    const v = values(clicks.map((k) => [k.campaignId, k.messageId, k.linkIndex, k.machine]), ["::uuid", "::uuid", "::int", "::boolean"]);
    await c.query(
      `INSERT INTO campaign_link_stats AS s (campaign_id, url, shard, clicks, machine_clicks)
       SELECT v.id, m.links[v.idx + 1], (pg_backend_pid() % 4)::smallint, count(*) FILTER (WHERE NOT v.machine), count(*) FILTER (WHERE v.machine)
         FROM (VALUES ${v.sql}) AS v(id, mid, idx, machine) JOIN messages m ON m.id = v.mid
        WHERE m.links[v.idx + 1] IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2
       ON CONFLICT (campaign_id, url, shard) DO UPDATE SET clicks = s.clicks + EXCLUDED.clicks, machine_clicks = s.machine_clicks + EXCLUDED.machine_clicks`,
      v.params,
    );
  }
}

let registered = false;
/** Wires the sink once per process (every process that runs the engagement writer calls it). */
export function registerCampaignEngagement(): void {
  if (registered) return;
  registered = true;
  onCampaignEngagement(recordCampaignEngagement);
}
