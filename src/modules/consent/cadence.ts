// The customer's own cadence: besides topics, how often marketing may reach them (`any`, `weekly`:
// at most one marketing message per rolling 7 days, `monthly`: at most one per rolling 30 days),
// and a pause of all marketing until a date. Pure rules; the send-time gate applies them
// (eligibility.ts: the pause; ../messages/frequency-cap.ts: the count, with the global cap).
import { z } from "zod";

export const CADENCES = ["any", "weekly", "monthly"] as const;
export type Cadence = (typeof CADENCES)[number];
export const cadenceSchema = z.enum(CADENCES);

/** At most `count` marketing messages in any rolling `days`; null: no limit of the customer's own. */
export function cadenceLimit(c: string | null | undefined): { count: number; days: number } | null {
  if (c === "weekly") return { count: 1, days: 7 };
  if (c === "monthly") return { count: 1, days: 30 };
  return null;
}

/** SQL: the cadence window in days for a `customers.cadence` column (0 for `any`). Keep in step. */
export const cadenceDaysSql = (col: string) => `(CASE ${col} WHEN 'weekly' THEN 7 WHEN 'monthly' THEN 30 ELSE 0 END)`;

/** True when `next` allows fewer messages than `prev` (a message may now be refused). */
export function stricter(next: Cadence, prev: Cadence): boolean {
  const rank = (c: Cadence) => (c === "any" ? 0 : c === "weekly" ? 1 : 2);
  return rank(next) > rank(prev);
}

/** What the customer was shown, kept in the ledger row (in clear: not personal data). */
export function cadenceWording(c: Cadence): string {
  if (c === "weekly") return "At most one marketing email a week";
  if (c === "monthly") return "At most one marketing email a month";
  return "Marketing emails as often as they are sent";
}
export const pauseWording = (until: Date | null) =>
  until ? `No marketing emails until ${until.toISOString().slice(0, 10)}` : "Marketing emails resumed";

/** The longest pause accepted (the preference center offers up to 90 days; the API up to this). */
export const MAX_PAUSE_DAYS = 730;
