// Marketing frequency cap: at most FREQUENCY_CAP_COUNT marketing messages per customer per rolling
// FREQUENCY_CAP_DAYS. Transactional topics bypass it. Enforced when a message is accepted (counting
// messages already on their way) and authoritatively right before SMTP (counting messages sent).
import { config } from "../../platform/config.ts";
import { pool } from "../../platform/prisma.ts";
import { withTransaction } from "../../platform/sql.ts";
import { writeOutcomes } from "../delivery/delivery.repository.ts";

export const capEnabled = () => config.FREQUENCY_CAP_COUNT > 0;

/** Marketing messages per customer in the window: sent ones, plus queued/sending ones when asked. */
export async function marketingCounts(customerIds: string[], includeInFlight: boolean): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (customerIds.length === 0) return out;
  const { rows } = await pool.query<{ customer_id: string; n: number }>(
    `SELECT m.customer_id, count(*)::int AS n
       FROM messages m JOIN topics t ON t.id = m.topic_id AND t.kind = 'marketing'
      WHERE m.customer_id = ANY($1::uuid[])
        AND ((m.status = 'sent' AND m.sent_at > now() - make_interval(days => $2::int))
             OR ($3::boolean AND m.status IN ('queued', 'sending')))
      GROUP BY m.customer_id`,
    [[...new Set(customerIds)], config.FREQUENCY_CAP_DAYS, includeInFlight],
  );
  for (const r of rows) out.set(r.customer_id, r.n);
  return out;
}

/**
 * Send-time check for claimed (`sending`) marketing messages. Per customer, under an advisory lock
 * held for one short transaction: count what was sent in the window plus what other workers hold in
 * `sending` (they passed this check already, or will be counted before theirs), let this batch's
 * messages through oldest first up to the cap, and mark the rest `suppressed` (frequency_cap) before
 * releasing the lock. So concurrent jobs never let a customer exceed the cap.
 * `exclude`: every id of the worker's batch (its own claims are decided here, not counted as others').
 * Returns the ids it suppressed.
 */
export async function enforceCapAtSend(batch: Array<{ id: string; customerId: string; claim: string }>, exclude: string[]): Promise<Set<string>> {
  const capped = new Set<string>();
  if (!capEnabled() || batch.length === 0) return capped;
  const customers = [...new Set(batch.map((m) => m.customerId))].sort();
  return withTransaction(async (c) => {
    await c.query("SELECT pg_advisory_xact_lock(hashtext('fcap|' || x)) FROM unnest($1::text[]) AS x ORDER BY x", [customers]);
    const { rows } = await c.query<{ customer_id: string; n: number }>(
      `SELECT m.customer_id, count(*)::int AS n
         FROM messages m JOIN topics t ON t.id = m.topic_id AND t.kind = 'marketing'
        WHERE m.customer_id = ANY($1::uuid[]) AND NOT (m.id = ANY($3::uuid[]))
          AND ((m.status = 'sent' AND m.sent_at > now() - make_interval(days => $2::int)) OR m.status = 'sending')
        GROUP BY m.customer_id`,
      [customers, config.FREQUENCY_CAP_DAYS, exclude],
    );
    const counts = new Map(rows.map((r) => [r.customer_id, r.n]));
    for (const m of [...batch].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      const n = counts.get(m.customerId) ?? 0;
      if (n >= config.FREQUENCY_CAP_COUNT) capped.add(m.id);
      else counts.set(m.customerId, n + 1);
    }
    if (capped.size > 0) {
      // Recorded by the status owner, inside this transaction (before the lock is released).
      const mine = batch.filter((m) => capped.has(m.id));
      await writeOutcomes(mine.map((m) => ({ id: m.id, claim: m.claim, kind: "suppressed" as const, reason: "frequency_cap" })), c);
    }
    return capped;
  });
}
