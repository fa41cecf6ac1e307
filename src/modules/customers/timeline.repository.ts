// The customer's timeline: every touchpoint, newest first — messages, engagement (opens, clicks,
// bounces, complaints, replies), consent events and feedback — in one keyset-paginated UNION query.
import { AppError } from "../../platform/errors.ts";
import { pool } from "../../platform/prisma.ts";

export interface TimelineEntry {
  kind: "message" | "engagement" | "consent" | "feedback";
  type: string;
  at: string;
  messageId: string | null;
  topic: string | null;
  template: string | null;
  campaignId: string | null;
  url: string | null;
  source: string | null;
  /** Opens and clicks: whether a machine made it (source then names the rule). */
  machine?: boolean;
  engagement?: { opened: number; clicked: number; machineOpened: number; machineClicked: number };
}

/** Cursor: "<iso time>|<kind>|<row id>" of the last entry returned. */
export async function timeline(customerId: string, limit: number, cursor?: { at: Date; key: string }) {
  const rows = await pool.query(
    `SELECT * FROM (
       SELECT 'message' AS kind, m.status::text AS type, m.created_at AS at, m.id::text AS row_id, m.id AS message_id,
              t.key AS topic, tp.key AS template, m.campaign_id, NULL::text AS url, NULL::text AS source, NULL::boolean AS machine,
              me.opens, me.clicks, me.machine_opens, me.machine_clicks
         FROM messages m JOIN topics t ON t.id = m.topic_id LEFT JOIN message_engagement me ON me.message_id = m.id
         JOIN template_versions tv ON tv.id = m.template_version_id JOIN templates tp ON tp.id = tv.template_id
        WHERE m.customer_id = $1
       UNION ALL
       SELECT 'engagement', e.type, e.created_at, e.id::text, e.message_id, t.key, NULL, m.campaign_id, e.url, NULL, NULL, NULL::int, NULL::int, NULL::int, NULL::int
         FROM message_events e JOIN messages m ON m.id = e.message_id JOIN topics t ON t.id = m.topic_id
        WHERE e.customer_id = $1
       UNION ALL
       SELECT 'engagement', CASE WHEN g.type = 'open' THEN 'opened' ELSE 'clicked' END, g.at, 'g' || g.id::text, g.message_id, t.key, NULL,
              m.campaign_id, CASE WHEN g.link_index >= 0 THEN m.links[g.link_index + 1] END, g.rule, g.machine, NULL, NULL, NULL, NULL
         FROM engagement_events g JOIN messages m ON m.id = g.message_id JOIN topics t ON t.id = m.topic_id
        WHERE g.customer_id = $1
       UNION ALL
       -- Inbound reports about the customer's address that name no message (e.g. a JSON bounce by
       -- email); those naming a message appear above through its message_events row.
       SELECT 'engagement', CASE i.type WHEN 'hard_bounce' THEN 'bounced' WHEN 'soft_bounce' THEN 'soft_bounced' WHEN 'complaint' THEN 'complained'
                                        WHEN 'auto_reply' THEN 'auto_replied' ELSE i.type END,
              i.created_at, 'i' || i.id::text, NULL, NULL, NULL, NULL, NULL, i.channel, NULL, NULL, NULL, NULL, NULL
         FROM inbound_events i
        WHERE i.customer_id = $1 AND i.message_id IS NULL
       UNION ALL
       SELECT 'consent', ce.action, ce.created_at, ce.id::text, NULL, t.key, NULL, NULL, NULL, ce.source, NULL, NULL, NULL, NULL, NULL
         FROM consent_events ce LEFT JOIN topics t ON t.id = ce.topic_id
        WHERE ce.customer_id = $1
       UNION ALL
       SELECT 'feedback', 'feedback', f.created_at, f.id::text, f.message_id, t.key, NULL, NULL, NULL, f.source, NULL, NULL, NULL, NULL, NULL
         FROM feedback f LEFT JOIN topics t ON t.id = f.topic_id
        WHERE f.customer_id = $1
     ) x
     WHERE ($2::timestamptz IS NULL OR (x.at, x.kind || '|' || x.row_id) < ($2::timestamptz, $3::text))
     ORDER BY x.at DESC, x.kind || '|' || x.row_id DESC
     LIMIT $4`,
    [customerId, cursor?.at ?? null, cursor?.key ?? null, limit + 1],
  );
  const more = rows.rows.length > limit;
  const page = rows.rows.slice(0, limit);
  const data: TimelineEntry[] = page.map((r) => ({
    kind: r.kind, type: r.type, at: new Date(r.at).toISOString(), messageId: r.message_id, topic: r.topic,
    template: r.template, campaignId: r.campaign_id, url: r.url, source: r.source,
    ...(r.machine === null ? {} : { machine: r.machine }),
    // Message entries: their engagement so far (a human click implies a human open).
    ...(r.kind === "message" ? { engagement: {
      opened: (r.opens ?? 0) > 0 ? r.opens : (r.clicks ?? 0) > 0 ? 1 : 0, clicked: r.clicks ?? 0,
      machineOpened: r.machine_opens ?? 0, machineClicked: r.machine_clicks ?? 0,
    } } : {}),
  }));
  const last = page[page.length - 1];
  const nextCursor = more && last
    ? Buffer.from(`${new Date(last.at).toISOString()}|${last.kind}|${last.row_id}`).toString("base64url")
    : null;
  return { data, nextCursor };
}

const KINDS = new Set(["message", "engagement", "consent", "feedback"]);

/** A cursor this API did not write is a 400, never a silent restart or a database error. */
export function decodeTimelineCursor(c: string | undefined): { at: Date; key: string } | undefined {
  if (!c) return undefined;
  const [at, kind, id, ...rest] = Buffer.from(c, "base64url").toString("utf8").split("|");
  const d = new Date(at);
  const year = d.getUTCFullYear();
  if (!kind || !id || rest.length > 0 || !KINDS.has(kind) || id.length > 64 || Number.isNaN(d.getTime()) || year < 1970 || year > 9999) {
    throw new AppError("validation", "The cursor is not valid", { errors: [{ path: "cursor", message: "Invalid cursor" }] });
  }
  return { at: d, key: `${kind}|${id}` };
}
