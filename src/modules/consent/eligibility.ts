// The one place that decides whether a customer may be emailed on a topic right now. Used when a
// message is accepted and again right before it is handed to SMTP. One query per batch.
import { pool } from "../../platform/prisma.ts";
import { addressHash } from "../../platform/secrets.ts";
import { addressKey } from "../customers/email.ts";

export type IneligibleReason = "no_consent" | "unsubscribed" | "suppressed_address" | "erased" | "cadence";
/**
 * consentEventId: the ledger row in force that allows a marketing message (its proof). cadence: the
 * customer's own cadence (marketing), counted afterwards with the frequency cap (frequency-cap.ts).
 */
export type Eligibility = { ok: true; consentEventId?: string | null; cadence?: string } | { ok: false; reason: IneligibleReason };

export interface TopicRef {
  id: string;
  kind: "marketing" | "transactional";
}

const OK: Eligibility = { ok: true };
const no = (reason: IneligibleReason): Eligibility => ({ ok: false, reason });

/** What the rules look at, as selected by eligibilityJoin + eligibilityColumns. */
export interface EligibilityRow {
  email: string | null;
  email_hash: string | null;
  erased: boolean;
  suppressed: boolean;
  status: "pending" | "opted_in" | "opted_out" | null;
  /** The customer paused all marketing until a date still ahead. */
  paused?: boolean;
  cadence?: string;
}
interface Row extends EligibilityRow {
  id: string;
  consent_event_id: string | null;
}

/**
 * The joins behind every eligibility decision, for queries that need it inline (the send API resolves
 * recipient, topic and eligibility in one round trip). `c` is the customers alias, `topicId` a SQL
 * expression for the topic's id.
 */
export const eligibilityJoin = (c: string, topicId: string) => `
  LEFT JOIN consents el_cs ON el_cs.customer_id = ${c}.id AND el_cs.topic_id = ${topicId} AND el_cs.channel = 'email'
  LEFT JOIN suppressions el_s ON el_s.address_hash = ${c}.email_hash`;
export const eligibilityColumns = (c: string) =>
  `${c}.email, ${c}.email_hash, ${c}.erased_at IS NOT NULL AS erased, el_s.address_hash IS NOT NULL AS suppressed, el_cs.status,
   coalesce(${c}.paused_until > now(), false) AS paused, ${c}.cadence::text AS cadence`;

/**
 * Rules, in order: erased (or unknown, or without an address) -> erased; suppressed address ->
 * suppressed_address (every topic); marketing needs `opted_in` (opted_out -> unsubscribed, missing or
 * pending -> no_consent), and no pause of the customer's own (cadence); transactional needs nothing more.
 */
export async function checkEligibility(topic: TopicRef, customerIds: string[]): Promise<Map<string, Eligibility>> {
  const out = new Map<string, Eligibility>();
  const ids = [...new Set(customerIds)];
  if (ids.length === 0) return out;
  const { rows } = await pool.query<Row>({
    name: "eligibility-batch",
    // The latest ledger row of the customer and topic is the one in force: changes only are recorded.
    text: `SELECT c.id, ${eligibilityColumns("c")},
                  (SELECT max(ce.id) FROM consent_events ce
                    WHERE ce.customer_id = c.id AND ce.topic_id = $2::uuid AND ce.channel = 'email')::text AS consent_event_id
             FROM customers c ${eligibilityJoin("c", "$2::uuid")} WHERE c.id = ANY($1::uuid[])`,
    values: [ids, topic.id],
  });
  await checkUnhashed(rows);
  for (const r of rows) {
    const v = decide(topic.kind, r);
    out.set(r.id, v.ok && topic.kind === "marketing" ? { ok: true, consentEventId: r.consent_event_id, cadence: r.cadence } : v);
  }
  for (const id of ids) if (!out.has(id)) out.set(id, no("erased"));
  return out;
}

/**
 * Rows written without the address hash (should not happen: the customers module writes it) are
 * checked against the suppression list by a hash computed here.
 */
export async function checkUnhashed(rows: EligibilityRow[]): Promise<void> {
  const unhashed = rows.filter((r) => !r.email_hash && r.email && !r.erased);
  if (unhashed.length === 0) return;
  const hashes = new Map(unhashed.map((r) => [addressHash(addressKey(r.email!)), r]));
  const s = await pool.query<{ address_hash: string }>("SELECT address_hash FROM suppressions WHERE address_hash = ANY($1::text[])", [
    [...hashes.keys()],
  ]);
  for (const h of s.rows) hashes.get(h.address_hash)!.suppressed = true;
}

/**
 * decide()'s rules as a SQL predicate over eligibilityJoin (customers alias `c`), for counting an
 * audience before sending (an estimate: rows without an address hash are checked only by decide()).
 * Keep the two in step: the campaign audience test compares them.
 */
export function eligibleSql(c: string, kind: TopicRef["kind"]): string {
  const base = `(${c}.erased_at IS NULL AND ${c}.email IS NOT NULL AND el_s.address_hash IS NULL`;
  return kind === "transactional"
    ? `${base})`
    : `${base} AND el_cs.status = 'opted_in' AND (${c}.paused_until IS NULL OR ${c}.paused_until <= now()))`;
}

export function decide(kind: TopicRef["kind"], r: EligibilityRow): Eligibility {
  if (r.erased || !r.email) return no("erased");
  if (r.suppressed) return no("suppressed_address");
  if (kind === "transactional") return OK;
  if (r.status === "opted_in") return r.paused ? no("cadence") : OK;
  return no(r.status === "opted_out" ? "unsubscribed" : "no_consent");
}
