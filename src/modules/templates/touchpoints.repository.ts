// Earlier interactions, summarised for templates ("since your last visit..."): one query for a whole
// batch of customers. Months are calendar months in UTC.
import { isUuid } from "../../platform/ids.ts";
import { pool } from "../../platform/prisma.ts";
import type { Touchpoints } from "../../templates/render.types.ts";

const PAGE = 1000;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export async function touchpointsFor(customerIds: string[]): Promise<Map<string, Touchpoints>> {
  const ids = [...new Set(customerIds)].filter(isUuid);
  const out = new Map<string, Touchpoints>();
  for (let i = 0; i < ids.length; i += PAGE) {
    const { rows } = await pool.query<{ id: string; last_sent: Date | null; last_open: Date | null; last_click: Date | null; this_month: number }>(
      `SELECT c.id,
              (SELECT max(m.sent_at) FROM messages m WHERE m.customer_id = c.id) AS last_sent,
              (SELECT e.created_at FROM message_events e WHERE e.customer_id = c.id AND e.type = 'opened'
                ORDER BY e.created_at DESC LIMIT 1) AS last_open,
              (SELECT e.created_at FROM message_events e WHERE e.customer_id = c.id AND e.type = 'clicked'
                ORDER BY e.created_at DESC LIMIT 1) AS last_click,
              (SELECT count(*) FROM messages m WHERE m.customer_id = c.id
                  AND m.sent_at >= (date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'))::int AS this_month
         FROM unnest($1::uuid[]) AS c(id)`,
      [ids.slice(i, i + PAGE)],
    );
    for (const r of rows) {
      out.set(r.id, { lastMessageSentAt: iso(r.last_sent), lastOpenAt: iso(r.last_open), lastClickAt: iso(r.last_click), messagesThisMonth: r.this_month });
    }
  }
  return out;
}
