// Marketing limits per customer: the global frequency cap (at most FREQUENCY_CAP_COUNT marketing
// messages per rolling FREQUENCY_CAP_DAYS, reason `frequency_cap`) and the customer's own cadence
// (../consent/cadence.ts: weekly, monthly; reason `cadence`). Transactional topics bypass both.
// Enforced when a message is accepted (counting messages already on their way) and authoritatively
// right before SMTP (counting messages sent). One query per batch, for both limits.
import { config } from "../../platform/config.ts";
import { pool } from "../../platform/prisma.ts";
import { withTransaction } from "../../platform/sql.ts";
import { cadenceDaysSql, cadenceLimit } from "../consent/cadence.ts";
import { writeOutcomes } from "../delivery/delivery.repository.ts";

export const capEnabled = () => config.FREQUENCY_CAP_COUNT > 0;

/** A customer's marketing so far: in the cap's window (n) and in their cadence's window (recent). */
export interface MarketingLoad {
  cadence: string;
  n: number;
  recent: number;
}

/**
 * Both counts for the customers that have a limit: all of them when the cap is on, else only those
 * with a cadence of their own. Sent messages in each window, plus the in-flight statuses given
 * (acceptance: queued and sending; send time: sending), never counting `exclude`.
 */
export const loadSql = `
  SELECT c.id AS customer_id, c.cadence::text AS cadence,
         count(m.id) FILTER (WHERE m.status <> 'sent' OR m.sent_at > now() - make_interval(days => $2::int))::int AS n,
         count(m.id) FILTER (WHERE m.status <> 'sent' OR m.sent_at > now() - make_interval(days => ${cadenceDaysSql("c.cadence")}))::int AS recent
    FROM customers c
    LEFT JOIN LATERAL (
      SELECT m.id, m.status, m.sent_at FROM messages m JOIN topics t ON t.id = m.topic_id AND t.kind = 'marketing'
       WHERE m.customer_id = c.id AND NOT (m.id = ANY($5::uuid[]))
         AND ((m.status = 'sent' AND m.sent_at > now() - make_interval(days => greatest($2::int, ${cadenceDaysSql("c.cadence")})))
              OR m.status::text = ANY($3::text[]))) m ON true
   WHERE c.id = ANY($1::uuid[]) AND ($4::boolean OR c.cadence <> 'any')
   GROUP BY c.id, c.cadence`;

export async function marketingLoad(
  q: { query: typeof pool.query } | typeof pool, customerIds: string[], inFlight: string[], exclude: string[] = [],
): Promise<Map<string, MarketingLoad>> {
  const out = new Map<string, MarketingLoad>();
  if (customerIds.length === 0) return out;
  const { rows } = await (q as typeof pool).query<{ customer_id: string } & MarketingLoad>(loadSql, [
    [...new Set(customerIds)], config.FREQUENCY_CAP_DAYS, inFlight, capEnabled(), exclude,
  ]);
  for (const r of rows) out.set(r.customer_id, { cadence: r.cadence, n: r.n, recent: r.recent });
  return out;
}

/**
 * Whether one more marketing message is over a limit (the customer's cadence first: their own
 * choice names the reason); when not, counts it (so the next one of the same batch sees it).
 */
export function takeAllowance(load: MarketingLoad | undefined): "cadence" | "frequency_cap" | null {
  if (!load) return null;
  const own = cadenceLimit(load.cadence);
  if (own && load.recent >= own.count) return "cadence";
  if (capEnabled() && load.n >= config.FREQUENCY_CAP_COUNT) return "frequency_cap";
  load.n++;
  load.recent++;
  return null;
}

/** Whether a batch needs the count at all: the cap is on, or a customer has a cadence of their own. */
export const needsCount = (cadences: Iterable<string | undefined>) => capEnabled() || [...cadences].some((c) => !!c && c !== "any");

/**
 * Send-time check for claimed (`sending`) marketing messages. Per customer, under an advisory lock
 * held for one short transaction: count what was sent in the window plus what other workers hold in
 * `sending` (they passed this check already, or will be counted before theirs), let this batch's
 * messages through oldest first up to the limits, and mark the rest `suppressed` (cadence or
 * frequency_cap) before releasing the lock. So concurrent jobs never let a customer exceed either.
 * `exclude`: every id of the worker's batch (its own claims are decided here, not counted as others').
 * `cadences`: customer id -> cadence as read by the gate (the count runs only when a limit may apply;
 * the count itself reads the cadence again). Returns the ids it suppressed.
 */
export async function enforceCapAtSend(
  batch: Array<{ id: string; customerId: string; claim: string }>, exclude: string[], cadences: Map<string, string | undefined> = new Map(),
): Promise<Set<string>> {
  const capped = new Set<string>();
  const customers = [...new Set(batch.map((m) => m.customerId))].sort();
  if (batch.length === 0 || !needsCount(customers.map((c) => cadences.get(c)))) return capped;
  return withTransaction(async (c) => {
    await c.query("SELECT pg_advisory_xact_lock(hashtext('fcap|' || x)) FROM unnest($1::text[]) AS x ORDER BY x", [customers]);
    const loads = await marketingLoad(c as unknown as typeof pool, customers, ["sending"], exclude);
    const reasons = new Map<string, string>();
    for (const m of [...batch].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      const reason = takeAllowance(loads.get(m.customerId));
      if (reason) reasons.set(m.id, reason);
    }
    if (reasons.size > 0) {
      // Recorded by the status owner, inside this transaction (before the lock is released).
      const mine = batch.filter((m) => reasons.has(m.id));
      await writeOutcomes(mine.map((m) => ({ id: m.id, claim: m.claim, kind: "suppressed" as const, reason: reasons.get(m.id)! })), c);
      for (const m of mine) capped.add(m.id);
    }
    return capped;
  });
}
