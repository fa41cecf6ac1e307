// Verification of the consent ledger's hash chains (ledger-chain.ts): one customer (the API), or
// every customer in keyset pages (an operator's check, e.g. `rapport doctor`).
import { notFound } from "../../platform/errors.ts";
import { pool } from "../../platform/prisma.ts";
import { verifyChain, type ChainVerdict, type StoredRow } from "./ledger-chain.ts";

const COLUMNS = `e.id::text AS id, e.customer_id, e.topic_id, e.channel, e.action, e.status::text AS status, e.source, e.wording,
  e.proof_enc, e.ip_enc, e.user_agent_enc, e.actor, e.created_at, e.hash, e.prev_hash, e.value`;

interface Row {
  id: string; customer_id: string; topic_id: string | null; channel: string; action: string; status: string | null; source: string;
  wording: string | null; proof_enc: string | null; ip_enc: string | null; user_agent_enc: string | null; actor: string;
  created_at: Date; hash: Buffer | null; prev_hash: Buffer | null; value: string | null;
}

const stored = (r: Row): StoredRow => ({
  id: r.id, customerId: r.customer_id, topicId: r.topic_id, channel: r.channel, action: r.action, status: r.status, source: r.source,
  wording: r.wording, proofEnc: r.proof_enc, ipEnc: r.ip_enc, userAgentEnc: r.user_agent_enc, actor: r.actor, createdAt: r.created_at,
  hash: r.hash, prevHash: r.prev_hash, value: r.value,
});

/** One customer's ledger, erased customers included (their ledger stays, and so does its chain). */
export async function verifyLedger(customerId: string): Promise<ChainVerdict> {
  const { rows } = await pool.query<Row & { known: boolean }>(
    `SELECT k.known, ${COLUMNS}
       FROM (SELECT EXISTS (SELECT 1 FROM customers WHERE id = $1::uuid) AS known) k
       LEFT JOIN consent_events e ON k.known AND e.customer_id = $1::uuid
      ORDER BY e.id`,
    [customerId],
  );
  if (!rows[0]?.known) throw notFound("Customer", customerId);
  return verifyChain(rows.filter((r) => r.id !== null).map(stored));
}

export interface LedgerReport {
  customers: number;
  rows: number;
  unchained: number;
  /** The first invalid row of each broken chain (at most `limit` listed; `broken` counts them all). */
  broken: number;
  invalid: Array<{ customerId: string; id: string; createdAt: string }>;
}

/**
 * Every customer's chain, in keyset pages of customers: one query per page reads the page's ledger
 * rows. The bound is repeated on the ledger's side so each page's join starts at its own customers.
 */
export async function verifyAllLedgers(opts: { pageSize?: number; limit?: number } = {}): Promise<LedgerReport> {
  const pageSize = opts.pageSize ?? 1000;
  const limit = opts.limit ?? 100;
  const report: LedgerReport = { customers: 0, rows: 0, unchained: 0, broken: 0, invalid: [] };
  let after = "00000000-0000-0000-0000-000000000000";
  for (;;) {
    const { rows } = await pool.query<Row & { page_customer: string }>(
      `WITH page AS (SELECT id FROM customers WHERE id > $1::uuid ORDER BY id LIMIT $2)
       SELECT p.id AS page_customer, ${COLUMNS}
         FROM page p LEFT JOIN consent_events e ON e.customer_id = p.id AND e.customer_id > $1::uuid
        ORDER BY p.id, e.id`,
      [after, pageSize],
    );
    if (!rows.length) return report;
    const byCustomer = new Map<string, StoredRow[]>();
    for (const r of rows) {
      const list = byCustomer.get(r.page_customer) ?? [];
      if (r.id !== null) list.push(stored(r));
      byCustomer.set(r.page_customer, list);
    }
    for (const [customerId, list] of byCustomer) {
      const v = verifyChain(list);
      report.customers++;
      report.rows += v.checked + v.unchained;
      report.unchained += v.unchained;
      if (v.firstInvalid) {
        report.broken++;
        if (report.invalid.length < limit) report.invalid.push({ customerId, ...v.firstInvalid });
      }
    }
    after = rows[rows.length - 1].page_customer;
  }
}
