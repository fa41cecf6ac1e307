// Dashboard figures: grouped queries on indexes (messages_sent_at_idx, consent_events_created_at_idx).
import { pool } from "../../platform/prisma.ts";

/** Messages sent per UTC day in [from, to) (YYYY-MM-DD), days without sends left out. */
export async function sentPerDay(from: string, to: string): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ day: string; sent: number }>(
    `SELECT to_char((sent_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day, count(*)::int AS sent FROM messages
      WHERE sent_at >= ($1::date)::timestamp AT TIME ZONE 'UTC' AND sent_at < ($2::date)::timestamp AT TIME ZONE 'UTC'
      GROUP BY 1`,
    [from, to],
  );
  return new Map(rows.map((r) => [r.day, r.sent]));
}

/** Consent ledger rows of the last 7 days, by action. */
export async function consentChangesThisWeek(): Promise<Array<{ action: string; count: number }>> {
  const { rows } = await pool.query<{ action: string; count: number }>(
    `SELECT action, count(*)::int AS count FROM consent_events WHERE created_at >= now() - interval '7 days'
      GROUP BY action ORDER BY action`,
  );
  return rows;
}

/** Engagement since `since`: messages first opened / clicked by a person, unsubscribes, complaints (index ranges). */
export async function engagementSince(since: Date): Promise<{ opened: number; clicked: number; unsubscribed: number; complained: number }> {
  const { rows } = await pool.query<{ opened: number; clicked: number; unsubscribed: number; complained: number }>(
    `SELECT (SELECT count(*) FROM message_engagement WHERE first_open_at >= $1)::int AS opened,
            (SELECT count(*) FROM message_engagement WHERE first_click_at >= $1)::int AS clicked,
            (SELECT count(*) FROM message_events WHERE type = 'unsubscribed' AND created_at >= $1)::int AS unsubscribed,
            (SELECT count(*) FROM message_events WHERE type = 'complained' AND created_at >= $1)::int AS complained`,
    [since],
  );
  return rows[0];
}
