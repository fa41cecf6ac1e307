// Lanes under a saturated rate limit: a campaign's backlog must not book the shared SMTP rate
// limit ahead of transactional mail (src/modules/delivery/deliver.service.ts, CAMPAIGN_AHEAD_MS).
import { describe, expect, it } from "vitest";

// 100 messages per second for every process together: the campaign below needs 15 s of it.
Object.assign(process.env, { SMTP_RATE_PER_SECOND: "100" });
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
});
