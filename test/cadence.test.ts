// The customer's own cadence and pause (issue 11, part 3) against real PostgreSQL, Redis and an SMTP
// sink: enforced by the one send-time gate for campaigns and API sends alike (reason `cadence`),
// kept in the hash-chained ledger, settable through the API.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { rid, sink, startHarness, type Harness } from "./support/harness.ts";
import { createCampaign, createTemplate, createTopic, customerIn, sleep, waitCampaign } from "./support/campaigns.ts";
import { createCustomer, setConsent, waitForStatus } from "./support/fixtures.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());
afterEach(() => h.startWorkers());

const putCadence = (id: string, body: Record<string, unknown>) => h.api("PUT", `/v1/customers/${id}/cadence`, { source: "test", ...body });

async function sendTo(customerId: string, topic: string, template: string) {
  const r = await h.api("POST", "/v1/messages", { to: { customerId }, template, topic });
  expect(r.status, r.text).toBe(202);
  return r.body as { id: string; status: string; reason?: string };
}

describe("cadence", () => {
  it("when a customer chooses monthly, then the first campaign of the month reaches them and the second is suppressed with reason cadence", async () => {
    const topic = await createTopic(h, "marketing", "Cadence news");
    const tpl = await createTemplate(h, { subject: "News {{data.n}}" });
    const cohort = rid("cohort-");
    const monthly = await customerIn(h, { consent: topic.key, attributes: { cohort } });
    const often = await customerIn(h, { consent: topic.key, attributes: { cohort } });
    const r = await putCadence(monthly.id, { cadence: "monthly" });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ cadence: "monthly", pausedUntil: null });
    expect((await h.api("GET", `/v1/customers/${monthly.id}`)).body).toMatchObject({ cadence: "monthly", pausedUntil: null });

    for (const round of [1, 2]) {
      const camp = await createCampaign(h, { name: `Cadence ${round}`, topic: topic.key, template: tpl.key, audience: { rule: { attr: "cohort", op: "eq", value: cohort } } });
      expect((await h.api("POST", `/v1/campaigns/${camp.id}/schedule`)).status).toBe(200);
      await waitCampaign(h, camp.id, (c) => c.status === "completed");
      await sink.waitFor(often.email, round, 15_000);
      const msgs = (await h.api("GET", `/v1/messages?customerId=${monthly.id}&campaignId=${camp.id}`)).body.data;
      expect(msgs, `round ${round}`).toHaveLength(1);
      if (round === 1) expect(msgs[0]).toMatchObject({ status: "sent" });
      else expect(msgs[0]).toMatchObject({ status: "suppressed", reason: "cadence" });
    }
    await sleep(300);
    expect(sink.to(monthly.email)).toHaveLength(1);
    expect(sink.to(often.email)).toHaveLength(2);

    const ledger = (await h.api("GET", `/v1/customers/${monthly.id}/consent-events`)).body.data;
    expect(ledger.at(-1)).toMatchObject({ topic: null, action: "cadence_changed", value: "monthly", source: "test" });
    expect((await h.api("GET", `/v1/customers/${monthly.id}/consent-events/verify`)).body).toMatchObject({ valid: true });
  }, 90_000);

  it("when a weekly customer is sent two marketing messages through the API, then the second is suppressed with reason cadence and a transactional one still goes", async () => {
    const topic = await createTopic(h, "marketing", "Weekly deals");
    const receipts = await createTopic(h, "transactional", "Receipts");
    const tpl = await createTemplate(h);
    const c = await createCustomer(h);
    await setConsent(h, c.id, topic.key, "opted_in");
    expect((await putCadence(c.id, { cadence: "weekly" })).status).toBe(200);

    const first = await sendTo(c.id, topic.key, tpl.key);
    expect(first.status).toBe("queued");
    // At acceptance, a message on its way counts already.
    const second = await sendTo(c.id, topic.key, tpl.key);
    expect(second).toMatchObject({ status: "suppressed", reason: "cadence" });
    await waitForStatus(h, first.id, ["sent"]);
    const third = await sendTo(c.id, topic.key, tpl.key);
    expect(third).toMatchObject({ status: "suppressed", reason: "cadence" });
    const receipt = await sendTo(c.id, receipts.key, tpl.key);
    await waitForStatus(h, receipt.id, ["sent"]);
    expect(sink.to(c.email)).toHaveLength(2);

    // Back to "any": the next one goes.
    expect((await putCadence(c.id, { cadence: "any" })).body).toEqual({ cadence: "any", pausedUntil: null });
    await waitForStatus(h, (await sendTo(c.id, topic.key, tpl.key)).id, ["sent"]);
  }, 60_000);

  it("when two marketing messages are already queued and the customer then chooses weekly, then the send-time count lets one through and suppresses the other with reason cadence", async () => {
    const topic = await createTopic(h, "marketing", "Queued deals");
    const tpl = await createTemplate(h);
    const c = await createCustomer(h);
    await setConsent(h, c.id, topic.key, "opted_in");
    await h.stopWorkers();
    const queued = [await sendTo(c.id, topic.key, tpl.key), await sendTo(c.id, topic.key, tpl.key)];
    expect(queued.map((m) => m.status)).toEqual(["queued", "queued"]);
    expect((await putCadence(c.id, { cadence: "weekly" })).status).toBe(200);
    h.startWorkers();
    const done = await Promise.all(queued.map((m) => waitForStatus(h, m.id, ["sent", "suppressed"])));
    expect(done.map((m) => `${m.status}/${m.reason ?? ""}`).sort()).toEqual(["sent/", "suppressed/cadence"]);
    await sleep(300);
    expect(sink.to(c.email)).toHaveLength(1);
  }, 60_000);

  it("when two marketing messages pass the send-time count while the customer's change to weekly commits, then at most one is admitted to SMTP after it", async () => {
    const { pool } = await import("./support/harness.ts");
    const { claimMessages } = await import("../src/modules/delivery/delivery.repository.ts");
    const { prepareBatch } = await import("../src/modules/delivery/prepare.ts");
    const { admitHandoff, gateEpoch } = await import("../src/platform/handoff-gate.ts");
    const { waitUntil } = await import("./support/wait.ts");
    const topic = await createTopic(h, "marketing", "Racing deals");
    const tpl = await createTemplate(h);
    const c = await createCustomer(h);
    await setConsent(h, c.id, topic.key, "opted_in");
    await h.stopWorkers();
    const queued = [await sendTo(c.id, topic.key, tpl.key), await sendTo(c.id, topic.key, tpl.key)];
    expect(queued.map((m) => m.status)).toEqual(["queued", "queued"]);
    // The change to weekly has read "nothing sent or sending" and waits for the customer row ...
    const holder = await pool.connect();
    const admitted: string[] = [];
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM customers WHERE id = $1::uuid FOR UPDATE", [c.id]);
      const put = putCadence(c.id, { cadence: "weekly" });
      await waitUntil(async () => (await pool.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT 1 FROM customers WHERE id = $1::uuid FOR NO KEY UPDATE%'")).rows[0].n > 0,
      "the cadence change waiting for the customer row", 10_000);
      // ... while a worker claims both messages and counts them under the old cadence.
      const claimed = await claimMessages(queued.map((m) => m.id));
      const prepared = await prepareBatch(claimed);
      expect(prepared.ready).toHaveLength(2);
      await holder.query("COMMIT");
      expect((await put).status).toBe(200);
      // Their hand-off comes after the change returned.
      const epoch = await gateEpoch();
      for (const { m } of prepared.ready) {
        const g = await admitHandoff({ messageId: m.id, customerId: m.customerId, topicId: m.topic.id, marketing: true }, epoch);
        g.done();
        if (g.admission === "admitted") admitted.push(m.id);
      }
    } finally {
      holder.release();
      await pool.query("UPDATE messages SET status = 'queued', claimed_at = NULL WHERE id = ANY($1::uuid[]) AND status = 'sending'", [queued.map((m) => m.id)]);
    }
    expect(admitted.length).toBeLessThanOrEqual(1);
  }, 60_000);

  it("when a looser cadence and a pause of the same customer race and the pause commits last, then its hand-off fence stays", async () => {
    const { pool } = await import("./support/harness.ts");
    const { admitHandoff, gateEpoch } = await import("../src/platform/handoff-gate.ts");
    const { waitUntil } = await import("./support/wait.ts");
    const topic = await createTopic(h, "marketing", "Racing pause");
    const c = await createCustomer(h);
    await setConsent(h, c.id, topic.key, "opted_in");
    expect((await putCadence(c.id, { cadence: "weekly" })).status).toBe(200);
    const waiters = async () => (await pool.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT 1 FROM customers WHERE id = $1::uuid FOR NO KEY UPDATE%'")).rows[0].n;
    const holder = await pool.connect();
    let results: Array<{ status: number; body: any }>;
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM customers WHERE id = $1::uuid FOR UPDATE", [c.id]);
      const loosen = putCadence(c.id, { cadence: "any" });
      await waitUntil(async () => (await waiters()) >= 1, "the looser cadence waiting for the customer", 10_000);
      const pause = putCadence(c.id, { pausedUntil: new Date(Date.now() + 10 * 86_400_000).toISOString() });
      await waitUntil(async () => (await waiters()) >= 2, "the pause waiting for the customer", 10_000);
      await holder.query("COMMIT");
      results = await Promise.all([loosen, pause]);
    } finally {
      holder.release();
    }
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    expect(results[1].body).toMatchObject({ cadence: "any", pausedUntil: expect.any(String) });
    // A marketing message whose state was read before the pause committed must not reach SMTP now.
    const g = await admitHandoff({ messageId: "00000000-0000-7000-8000-000000000002", customerId: c.id, topicId: topic.id, marketing: true }, await gateEpoch());
    g.done();
    expect(g.admission).toBe("stopped");
  });

  it("when a customer pauses marketing, then a message already queued is suppressed at send time, nothing goes until the date, and the next one after it does", async () => {
    const topic = await createTopic(h, "marketing", "Paused news");
    const tpl = await createTemplate(h);
    const c = await createCustomer(h);
    await setConsent(h, c.id, topic.key, "opted_in");
    await h.stopWorkers();
    const queued = await sendTo(c.id, topic.key, tpl.key);
    expect(queued.status).toBe("queued");

    // A short pause (the date is what matters; the hand-off fence lives as long as the pause).
    const until = new Date(Date.now() + 5000);
    const r = await putCadence(c.id, { pausedUntil: until.toISOString() });
    expect(r.status, r.text).toBe(200);
    expect(r.body.pausedUntil).toBe(until.toISOString());
    h.startWorkers();
    const atSend = await waitForStatus(h, queued.id, ["suppressed", "sent"]);
    expect(atSend).toMatchObject({ status: "suppressed", reason: "cadence" });
    expect(await sendTo(c.id, topic.key, tpl.key)).toMatchObject({ status: "suppressed", reason: "cadence" });
    expect(sink.to(c.email)).toHaveLength(0);

    await sleep(Math.max(0, until.getTime() - Date.now()) + 200);
    expect((await h.api("GET", `/v1/customers/${c.id}`)).body.pausedUntil).toBeNull();
    const after = await sendTo(c.id, topic.key, tpl.key);
    expect(after.status).toBe("queued");
    await waitForStatus(h, after.id, ["sent"]);
    await sink.waitFor(c.email, 1);

    const ledger = (await h.api("GET", `/v1/customers/${c.id}/consent-events`)).body.data;
    expect(ledger.at(-1)).toMatchObject({ topic: null, action: "paused", value: until.toISOString(), actor: expect.stringContaining("key") });
    const timeline = (await h.api("GET", `/v1/customers/${c.id}/timeline`)).body.data;
    expect(timeline).toEqual(expect.arrayContaining([expect.objectContaining({ kind: "consent", type: "paused", topic: null })]));
  }, 60_000);

  it("when the cadence request is invalid, then 400 names the field and nothing changes", async () => {
    const c = await createCustomer(h);
    const past = await putCadence(c.id, { pausedUntil: new Date(Date.now() - 60_000).toISOString() });
    expect(past.status).toBe(400);
    expect(past.body.errors[0].path).toBe("pausedUntil");
    expect((await putCadence(c.id, { cadence: "daily" })).status).toBe(400);
    expect((await putCadence(c.id, {})).status).toBe(400);
    expect((await h.api("PUT", `/v1/customers/${c.id}/cadence`, { cadence: "weekly" })).status).toBe(400); // no source
    expect((await h.api("GET", `/v1/customers/${c.id}/cadence`)).body).toEqual({ cadence: "any", pausedUntil: null });
    expect((await h.api("GET", `/v1/customers/${c.id}/consent-events`)).body.data).toEqual([]);
    // Repeating the current state writes nothing.
    expect((await putCadence(c.id, { cadence: "any", pausedUntil: null })).status).toBe(200);
    expect((await h.api("GET", `/v1/customers/${c.id}/consent-events`)).body.data).toEqual([]);
  });
});
