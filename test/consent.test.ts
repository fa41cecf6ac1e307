import { beforeAll, describe, expect, it } from "vitest";
import { db, email, pool, rid, useHarness } from "./support/harness.ts";

const h = useHarness({ workers: false });
let dev: string;
beforeAll(async () => {
  dev = await h.keyFor("developer");
});

async function setup(kind: "marketing" | "transactional" = "marketing") {
  const topic = rid("topic-");
  await h.api("POST", "/v1/topics", { key: topic, name: "Weekly tips", description: "One email a week with tips", kind });
  const c = await h.api("POST", "/v1/customers", { email: email() }, { key: dev });
  return { topic, id: c.body.id as string };
}

describe("consent", () => {
  it("when consent is granted twice and withdrawn, then state follows and the ledger has exactly one row per change with who, how and what wording", async () => {
    const { topic, id } = await setup();
    const grant = { status: "opted_in", source: "signup-form", proof: "form v3 checkbox", ip: "203.0.113.7", userAgent: "Mozilla/5.0 test" };
    const first = await h.api("PUT", `/v1/customers/${id}/consents/${topic}`, grant, { key: dev });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ topic, channel: "email", status: "opted_in", updatedAt: expect.any(String) });
    const again = await h.api("PUT", `/v1/customers/${id}/consents/${topic}`, grant, { key: dev });
    expect(again.body).toEqual(first.body);
    await h.api("PUT", `/v1/customers/${id}/consents/${topic}`, { status: "opted_out", source: "preference-center" }, { key: dev });

    const state = await h.api("GET", `/v1/customers/${id}/consents`, undefined, { key: dev });
    expect(state.body.data).toEqual([{ topic, channel: "email", status: "opted_out", updatedAt: expect.any(String) }]);
    const ledger = await h.api("GET", `/v1/customers/${id}/consent-events`, undefined, { key: dev });
    expect(ledger.body.data).toHaveLength(2);
    expect(ledger.body.data[0]).toMatchObject({
      topic, channel: "email", action: "opted_in", source: "signup-form", proof: "form v3 checkbox",
      ip: "203.0.113.7", userAgent: "Mozilla/5.0 test", actor: expect.stringMatching(/^api-key:/),
      wording: "Weekly tips: One email a week with tips",
    });
    expect(ledger.body.data[1]).toMatchObject({ action: "opted_out", source: "preference-center" });
  });

  it("when SQL tries to UPDATE, DELETE or TRUNCATE the ledger, then the database refuses", async () => {
    const { topic, id } = await setup();
    await h.api("PUT", `/v1/customers/${id}/consents/${topic}`, { status: "opted_in", source: "api" }, { key: dev });
    await expect(pool.query("UPDATE consent_events SET source = 'forged' WHERE customer_id = $1", [id])).rejects.toThrow(/append-only/);
    await expect(pool.query("DELETE FROM consent_events WHERE customer_id = $1", [id])).rejects.toThrow(/append-only/);
    await expect(pool.query("TRUNCATE consent_events CASCADE")).rejects.toThrow(/append-only/);
    expect(await db.consentEvent.count({ where: { customerId: id, source: "api" } })).toBe(1);
  });

  it("when the consent body is invalid or the topic unknown, then 400/404 and nothing is recorded", async () => {
    const { topic, id } = await setup();
    const bad = await h.api("PUT", `/v1/customers/${id}/consents/${topic}`, { status: "maybe", ip: "not-an-ip", extra: 1 }, { key: dev });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: any) => e.path)).toEqual(expect.arrayContaining(["status", "source", "ip"]));
    expect((await h.api("PUT", `/v1/customers/${id}/consents/${rid("nope-")}`, { status: "opted_in", source: "x" }, { key: dev })).status).toBe(404);
    expect(await db.consentEvent.count({ where: { customerId: id } })).toBe(0);
  });

  it("when two opt-ins for the same consent race, then exactly one ledger row is written", async () => {
    const { topic, id } = await setup();
    const body = { status: "opted_in", source: "race" };
    const all = await Promise.all(Array.from({ length: 8 }, () => h.api("PUT", `/v1/customers/${id}/consents/${topic}`, body, { key: dev })));
    expect(all.every((r) => r.status === 200)).toBe(true);
    expect(await db.consentEvent.count({ where: { customerId: id } })).toBe(1);
  });

  it("when an opt-in and a withdrawal of the same consent race and the withdrawal commits last, then its hand-off fence stays", async () => {
    const { admitHandoff, gateEpoch } = await import("../src/platform/handoff-gate.ts");
    const { waitUntil } = await import("./support/wait.ts");
    const { topic, id } = await setup();
    const put = (status: string) => h.api("PUT", `/v1/customers/${id}/consents/${topic}`, { status, source: "preference-center" }, { key: dev });
    expect((await put("opted_out")).status).toBe(200);
    const topicId = (await db.topic.findUniqueOrThrow({ where: { key: topic } })).id;
    const waiters = async () => (await pool.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT pg_advisory_xact_lock(hashtext($1))%'")).rows[0].n;
    // Both wait for the consent's lock: the opt-in first, then the withdrawal (its fence already set).
    const holder = await pool.connect();
    let results: Array<{ status: number; body: any }>;
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`consent|${id}|${topicId}|email`]);
      const optIn = put("opted_in");
      await waitUntil(async () => (await waiters()) >= 1, "the opt-in waiting for the consent", 10_000);
      const withdraw = put("opted_out");
      await waitUntil(async () => (await waiters()) >= 2, "the withdrawal waiting for the consent", 10_000);
      await holder.query("COMMIT");
      results = await Promise.all([optIn, withdraw]);
    } finally {
      holder.release();
    }
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    expect(results.map((r) => r.body.status)).toEqual(["opted_in", "opted_out"]);
    // A message whose consent was read while the opt-in was in force must not reach SMTP now.
    const g = await admitHandoff({ messageId: "00000000-0000-7000-8000-000000000001", customerId: id, topicId, marketing: true }, await gateEpoch());
    g.done();
    expect(g.admission).toBe("stopped");
  });
});
