import { describe, expect, it } from "vitest";
import { addressKey } from "../src/modules/customers/email.ts";
import { addressHash } from "../src/platform/secrets.ts";
import { createTemplate } from "./support/fixtures.ts";
import { db, email, pool, rid, useHarness } from "./support/harness.ts";

const h = useHarness({ workers: false });

/** Every text-like column of every table that contains the needle (case-insensitive). */
async function tablesContaining(needle: string): Promise<string[]> {
  const cols = await pool.query(
    `SELECT table_name, column_name, data_type FROM information_schema.columns
      WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY', 'bytea')`,
  );
  const hits: string[] = [];
  for (const c of cols.rows) {
    const expr = c.data_type === "bytea" ? `encode("${c.column_name}", 'escape')` : `"${c.column_name}"::text`;
    const r = await pool.query(`SELECT 1 FROM "${c.table_name}" WHERE ${expr} ILIKE $1 LIMIT 1`, [`%${needle}%`]);
    if (r.rowCount) hits.push(`${c.table_name}.${c.column_name}`);
  }
  return hits;
}

describe("erasure", () => {
  it("when a customer is erased, then no table holds their email in plaintext, the address stays suppressed and the ledger stays, pseudonymised", async () => {
    const addr = email("erase");
    const topic = rid("t-");
    await h.api("POST", "/v1/topics", { key: topic, name: "News", kind: "marketing" });
    const c = (await h.api("POST", "/v1/customers", { email: addr, name: "Erin Erasable", externalId: rid("crm-"), attributes: { phone: "+33 6 12 34 56 78" } })).body;
    // The source stays in clear after erasure, so it may not quote the person: free text goes into the (encrypted) proof.
    const quoting = await h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_in", source: `signup form of ${addr}`, proof: "x" });
    expect(quoting.status).toBe(400);
    expect(quoting.body.errors.map((e: { path: string }) => e.path)).toEqual(["source"]);
    const put = await h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_in", source: "Signup-Form", proof: `checkbox by ${addr}`, ip: "198.51.100.4", userAgent: "UA-Erin" });
    expect(put.status).toBe(200);
    // A message still waiting (workers are off) whose per-send data quotes the person (idempotency keys are stored hashed).
    const { key: template } = await createTemplate(h);
    const msg = await h.api("POST", "/v1/messages", { to: { customerId: c.id }, template, topic, data: { note: `for ${addr}` } }, { headers: { "idempotency-key": `welcome-${addr}` } });
    expect(msg.status).toBe(202);
    expect(await tablesContaining(addr.split("@")[0])).toEqual(expect.arrayContaining(["customers.email", "messages.data"]));
    expect((await h.api("GET", `/v1/customers/${c.id}/consent-events`)).body.data).toEqual([expect.objectContaining({ source: "signup-form", proof: `checkbox by ${addr}` })]);

    expect((await h.api("DELETE", `/v1/customers/${c.id}`)).status).toBe(204);
    expect(await tablesContaining(addr.split("@")[0])).toEqual([]);
    expect(await tablesContaining("Erin Erasable")).toEqual([]);
    expect(await tablesContaining("UA-Erin")).toEqual([]);
    expect(await tablesContaining("198.51.100.4")).toEqual([]);

    expect(await db.suppression.findUnique({ where: { addressHash: addressHash(addressKey(c.email)) } })).toMatchObject({ reason: "erased" });
    expect((await h.api("GET", `/v1/customers/${c.id}`)).status).toBe(404);
    const ledger = (await h.api("GET", `/v1/customers/${c.id}/consent-events`)).body.data;
    expect(ledger).toHaveLength(1);
    expect(ledger[0]).toMatchObject({ topic, action: "opted_in", source: "signup-form", proof: null, ip: null, userAgent: null });
    expect((await h.api("DELETE", `/v1/customers/${c.id}`)).status).toBe(404);
    expect((await h.api("GET", `/v1/messages/${msg.body.id}`)).body).toMatchObject({ status: "suppressed", reason: "erased" });
  });
});
