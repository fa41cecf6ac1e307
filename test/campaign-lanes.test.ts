// Lanes under a saturated rate limit: a campaign's backlog must not book the shared SMTP rate
// limit ahead of transactional mail (src/modules/delivery/deliver.service.ts, CAMPAIGN_AHEAD_MS).
import { describe, expect, it } from "vitest";

// 100 messages per second for every process together: the campaign below needs 15 s of it. Small
// jobs and few at a time, so that a backlog waits in Redis (where fair share applies) as it would
// with production-sized campaigns.
Object.assign(process.env, { SMTP_RATE_PER_SECOND: "100", SEND_BATCH_SIZE: "10", SEND_CONCURRENCY: "4" });
const { pool, rid, sink, useHarness } = await import("./support/harness.ts");
const { createTemplate, createTopic, importOptedIn, sleep } = await import("./support/fixtures.ts");
const { createCampaign, waitCampaign } = await import("./support/campaigns.ts");

const h = useHarness();

describe("campaign and transactional lanes", () => {
  it("when a campaign saturates the SMTP rate limit, then a transactional message sent meanwhile arrives within 2 s", async () => {
    const news = await createTopic(h, "marketing", "News");
    const receipts = await createTopic(h, "transactional", "Receipts");
    const tpl = await createTemplate(h);
    const cohort = rid("cohort-");
    const people = await importOptedIn(h, news.key, 1500, { cohort });
    const [me] = await importOptedIn(h, receipts.key, 1);
    const camp = await createCampaign(h, { topic: news.key, template: tpl.key, audience: { rule: { attr: "cohort", op: "eq", value: cohort } } });
    expect((await h.api("POST", `/v1/campaigns/${camp.id}/schedule`)).status).toBe(200);
    await waitCampaign(h, camp.id, (c) => c.fanout.done);
    const delivered = () => people.reduce((n, p) => n + sink.to(p.email).length, 0);
    while (delivered() < 200) await sleep(20);

    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      // Precondition: the campaign is still draining at the limit, with most of it still waiting.
      const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM messages WHERE campaign_id = $1 AND status IN ('queued', 'sending')", [camp.id]);
      expect(rows[0].n).toBeGreaterThan(300);
      const sentAt = Date.now();
      const r = await h.api("POST", "/v1/messages", { to: { customerId: me.id }, template: tpl.key, topic: receipts.key, data: { i } });
      expect(r.status, r.text).toBe(202);
      const [mail] = await sink.waitFor(me.email, i + 1, 30_000).then((all) => all.slice(i));
      latencies.push(mail.arrivedAt - sentAt);
      await sleep(300);
    }
    console.log(`[lanes] transactional latencies during the campaign: ${latencies.join(", ")} ms`);
    expect(Math.max(...latencies), `latencies ${latencies.join(", ")} ms`).toBeLessThan(2000);
    await h.api("POST", `/v1/campaigns/${camp.id}/cancel`);
  });

  it("when a second campaign starts while the first still has a backlog, then both share the lane: each gets between 30% and 70% of what is delivered", async () => {
    const news = await createTopic(h, "marketing", "News");
    const tpl = await createTemplate(h);
    const [ta, tb] = [rid("a-"), rid("b-")];
    const A = await importOptedIn(h, news.key, 700, { cohort: ta });
    const B = await importOptedIn(h, news.key, 500, { cohort: tb });
    const campaign = async (cohort: string) => {
      const c = await createCampaign(h, { topic: news.key, template: tpl.key, audience: { rule: { attr: "cohort", op: "eq", value: cohort } } });
      expect((await h.api("POST", `/v1/campaigns/${c.id}/schedule`)).status).toBe(200);
      await waitCampaign(h, c.id, (x) => x.fanout.done);
      return c;
    };
    const got = (people: Array<{ email: string }>) => people.reduce((n, p) => n + sink.to(p.email).length, 0);
    const a = await campaign(ta);
    while (got(A) < 50) await sleep(20);
    const b = await campaign(tb);
    for (const until = Date.now() + 15_000; got(B) === 0 && Date.now() < until; ) await sleep(20);
    // Precondition: B got going while A still had most of its backlog (FIFO would make B wait ~7 s).
    expect(got(B), "the second campaign's first delivery").toBeGreaterThan(0);
    expect(A.length - got(A), "the first campaign's backlog").toBeGreaterThan(250);
    const [a0, b0] = [got(A), got(B)];
    await sleep(2500);
    const [da, db] = [got(A) - a0, got(B) - b0];
    console.log(`[lanes] in 2.5 s with both running: first campaign ${da}, second ${db}`);
    expect(da + db).toBeGreaterThan(100);
    expect(db / (da + db)).toBeGreaterThan(0.3);
    expect(db / (da + db)).toBeLessThan(0.7);
    await h.api("POST", `/v1/campaigns/${a.id}/cancel`);
    await h.api("POST", `/v1/campaigns/${b.id}/cancel`);
  });
});
