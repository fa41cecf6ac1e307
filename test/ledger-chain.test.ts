// Issue 13, item 9: the consent ledger proves itself. Each customer's rows are hash-chained; the
// verification names a row that someone able to bypass the append-only trigger changed or removed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAllLedgers } from "../src/modules/consent/ledger.service.ts";
import { createTopic } from "./support/fixtures.ts";
import { email, pool, startHarness, type Harness } from "./support/harness.ts";

let h: Harness;
let marketer: string;
beforeAll(async () => {
  h = await startHarness();
  marketer = await h.keyFor("marketer");
});
afterAll(() => h.close());

const verify = (id: string, key?: string) => h.api("GET", `/v1/customers/${id}/consent-events/verify`, undefined, key ? { key } : {});

async function ledgerRows(customerId: string) {
  const { rows } = await pool.query<{ id: string; created_at: Date; hash: Buffer | null; prev_hash: Buffer | null }>(
    "SELECT e.id::text AS id, e.created_at, e.hash, e.prev_hash FROM consent_events e WHERE e.customer_id = $1 ORDER BY e.id",
    [customerId],
  );
  return rows;
}

/** What a database owner can do: bypass the append-only trigger for one statement. */
async function asOwner(sql: string, params: unknown[]) {
  const c = await pool.connect();
  try {
    await c.query("BEGIN");
    // Inside the transaction: other sessions never see the trigger disabled (the ALTER locks the table).
    await c.query("ALTER TABLE consent_events DISABLE TRIGGER consent_events_append_only");
    await c.query(sql, params);
    await c.query("ALTER TABLE consent_events ENABLE TRIGGER consent_events_append_only");
    await c.query("COMMIT");
  } catch (err) {
    await c.query("ROLLBACK");
    throw err;
  } finally {
    c.release();
  }
}

/** A customer with a few ledger rows, written by the API and by a bulk import. */
async function customerWithLedger() {
  const [news, deals] = [await createTopic(h), await createTopic(h)];
  const addr = email("chain");
  const c = (await h.api("POST", "/v1/customers", { email: addr })).body;
  const put = (topic: string, status: string, source: string) =>
    h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status, source, proof: `proof for ${addr}`, ip: "203.0.113.9" });
  expect((await put(news.key, "opted_in", "signup-form")).status).toBe(200);
  expect((await put(deals.key, "opted_in", "signup-form")).status).toBe(200);
  expect((await put(news.key, "opted_out", "preference-center")).status).toBe(200);
  const imp = await h.api("POST", "/v1/customers/import", {
    customers: [{ email: addr, consents: [{ topic: news.key, status: "opted_in", source: "crm-export", proof: "ticket 7" }, { topic: deals.key, status: "opted_out", source: "crm-export" }] }],
  });
  expect(imp.status).toBe(202);
  for (let i = 0; i < 200; i++) {
    if ((await h.api("GET", `/v1/imports/${imp.body.id}`)).body.status === "completed") break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const rows = await ledgerRows(c.id);
  expect(rows).toHaveLength(5);
  return { id: c.id as string, rows };
}

describe("consent ledger hash chain", () => {
  it("when a ledger is untouched, then it verifies: every row hashed and linked to the one before", async () => {
    const { id, rows } = await customerWithLedger();
    expect(rows.every((r) => r.hash?.length === 32)).toBe(true);
    expect(rows[0].prev_hash).toBeNull();
    for (let i = 1; i < rows.length; i++) expect(rows[i].prev_hash!.equals(rows[i - 1].hash!)).toBe(true);
    const r = await verify(id, marketer);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ valid: true, checked: 5, unchained: 0 });
    expect((await verify(id, await h.keyFor("developer"))).status).toBe(200);
    expect((await verify("0190a8f0-0000-7000-8000-000000000000")).status).toBe(404);
  });

  it("when an owner edits a row with the trigger disabled, then verification names that row, also in the check over all customers", async () => {
    const { id, rows } = await customerWithLedger();
    const target = rows[2];
    await asOwner("UPDATE consent_events SET status = 'opted_in', action = 'opted_in' WHERE id = $1", [target.id]);
    expect((await pool.query("SELECT action FROM consent_events WHERE id = $1", [target.id])).rows[0].action).toBe("opted_in");
    const r = await verify(id);
    expect(r.body).toEqual({ valid: false, checked: 5, unchained: 0, firstInvalid: { id: target.id, createdAt: target.created_at.toISOString() } });

    const report = await verifyAllLedgers({ pageSize: 500, limit: 10_000 });
    expect(report.invalid.filter((x) => x.customerId === id)).toEqual([{ customerId: id, id: target.id, createdAt: target.created_at.toISOString() }]);
    expect(report.rows).toBeGreaterThanOrEqual(5);
  });

  it("when an owner deletes a row in the middle, then verification names the row after it", async () => {
    const { id, rows } = await customerWithLedger();
    await asOwner("DELETE FROM consent_events WHERE id = $1", [rows[1].id]);
    expect(await ledgerRows(id)).toHaveLength(4);
    expect((await verify(id)).body).toMatchObject({ valid: false, firstInvalid: { id: rows[2].id } });
  });

  it("when a customer is erased, then the ledger's PII is unreadable and its chain still verifies", async () => {
    const { id } = await customerWithLedger();
    expect((await h.api("DELETE", `/v1/customers/${id}`)).status).toBe(204);
    const ledger = (await h.api("GET", `/v1/customers/${id}/consent-events`)).body.data;
    expect(ledger[0]).toMatchObject({ proof: null, ip: null });
    expect((await pool.query("SELECT count(*)::int AS n FROM consent_events WHERE customer_id = $1 AND proof_enc IS NOT NULL", [id])).rows[0].n).toBe(4); // the imported opt-out has no proof
    expect((await verify(id)).body).toEqual({ valid: true, checked: 5, unchained: 0 });
  });

  it("when many changes for one customer race, then the chain does not fork", async () => {
    const topics = await Promise.all(Array.from({ length: 8 }, () => createTopic(h)));
    const c = (await h.api("POST", "/v1/customers", { email: email("race") })).body;
    const results = await Promise.all(
      topics.map((t) => h.api("PUT", `/v1/customers/${c.id}/consents/${t.key}`, { status: "opted_in", source: "race", proof: "p" })),
    );
    expect(results.map((r) => r.status)).toEqual(topics.map(() => 200));
    const rows = await ledgerRows(c.id);
    expect(rows).toHaveLength(8);
    expect(new Set(rows.map((r) => r.prev_hash?.toString("hex") ?? null)).size).toBe(8);
    expect((await verify(c.id)).body).toEqual({ valid: true, checked: 8, unchained: 0 });
  });
});
