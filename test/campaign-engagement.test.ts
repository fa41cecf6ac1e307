// Engagement in campaign numbers: opens, clicks (human and machine apart), unsubscribes, complaints and top
// links of a campaign come from counters the engagement writer and triggers keep, and equal the
// raw events that were made.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPersona, createTemplate, createTopic, sleep } from "./support/fixtures.ts";
import { customerIn, createCampaign, waitCampaign } from "./support/campaigns.ts";
import { pool, sink, startHarness, type Harness } from "./support/harness.ts";

const CHROME = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const LINK = "https://shop.example/spring";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const hit = (url: string, headers: Record<string, string> = {}, method = "GET") =>
  fetch(url, { method, headers: { "user-agent": CHROME, ...headers }, redirect: "manual" });

async function trackingUrls(email: string) {
  const [mail] = await sink.waitFor(email);
  const html = String(mail.parsed.html);
  const clicks = [...html.matchAll(/href=["']([^"']*\/t\/c\/[A-Za-z0-9_-]+)["']/g)].map((m) => m[1]);
  const open = html.match(/<img src="([^"]*\/t\/o\/[A-Za-z0-9_-]+)"/)?.[1];
  const unsubscribe = html.match(/href="([^"]+\/u\/[^"]+)"/)?.[1];
  expect(clicks).toHaveLength(2); // the link and the hidden honeypot
  expect(open).toBeDefined();
  expect(unsubscribe).toBeDefined();
  return { link: clicks[0], honeypot: clicks[1], open: open!, unsubscribe: unsubscribe!.replace(/&amp;/g, "&") };
}

/** Raw events of a campaign's messages per persona, straight from engagement_events. */
async function rawEvents(campaignId: string) {
  const { rows } = await pool.query<{ persona: string; human_opened: number; clicked: number; machine_opened: number; machine_clicked: number }>(
    `SELECT m.persona_key AS persona,
            count(DISTINCT m.id) FILTER (WHERE NOT e.machine)::int AS human_opened,
            count(DISTINCT m.id) FILTER (WHERE NOT e.machine AND e.type = 'click')::int AS clicked,
            count(DISTINCT m.id) FILTER (WHERE e.machine AND e.type = 'open')::int AS machine_opened,
            count(DISTINCT m.id) FILTER (WHERE e.machine AND e.type = 'click')::int AS machine_clicked
       FROM engagement_events e JOIN messages m ON m.id = e.message_id WHERE m.campaign_id = $1 GROUP BY 1`,
    [campaignId],
  );
  return Object.fromEntries(rows.map((r) => [r.persona, { opened: r.human_opened, clicked: r.clicked, machineOpened: r.machine_opened, machineClicked: r.machine_clicked }]));
}

async function statsWhen(campaignId: string, pred: (s: any) => boolean) {
  const until = Date.now() + 20_000;
  for (;;) {
    const s = (await h.api("GET", `/v1/campaigns/${campaignId}/stats`)).body;
    if (pred(s)) return s;
    if (Date.now() > until) throw new Error(`campaign stats did not reach the expected state: ${JSON.stringify(s)}`);
    await sleep(100);
  }
}

describe("campaign engagement stats", () => {
  it("when a person clicks after Apple's proxy opened, then the campaign's per-persona stats count one human open and one click with the machine open apart, equal to the raw events", async () => {
    const topic = await createTopic(h, "marketing", "Spring");
    const [a, b] = [await createPersona(h), await createPersona(h)];
    const tpl = await createTemplate(h, { html: `<p>Hi {{customer.name}} <a href="${LINK}">spring</a></p>` });
    const ca = await customerIn(h, { persona: a.key, consent: topic.key });
    const cb = await customerIn(h, { persona: b.key, consent: topic.key });
    const camp = await createCampaign(h, { topic: topic.key, template: tpl.key, audience: { personas: [a.key, b.key] } });
    expect((await h.api("POST", `/v1/campaigns/${camp.id}/schedule`)).status).toBe(200);
    await waitCampaign(h, camp.id, (c) => c.status === "completed");
    // Precondition: sent, and nothing counted yet.
    const before = await h.api("GET", `/v1/campaigns/${camp.id}/stats`);
    expect(before.body.total).toMatchObject({ sent: 2, opened: 0, clicked: 0, machineOpened: 0, machineClicked: 0, unsubscribed: 0 });
    expect(before.body.topLinks).toEqual([]);
    // Clicks within seconds of delivery look like a scanner's: the mails went out a minute "ago".
    await pool.query("UPDATE messages SET sent_at = now() - interval '60 seconds' WHERE campaign_id = $1", [camp.id]);

    const ua = await trackingUrls(ca.email);
    const ub = await trackingUrls(cb.email);
    await hit(ua.open, { "user-agent": "Mozilla/5.0", "x-forwarded-for": "17.1.2.3" }); // Apple Mail Privacy Protection
    await hit(ub.open, { "user-agent": "Mozilla/5.0", "x-forwarded-for": "17.1.2.4" });
    await statsWhen(camp.id, (s) => s.total.machineOpened === 2);
    const click = await hit(ua.link);
    expect(click.status).toBe(302);
    expect(click.headers.get("location")).toBe(LINK);
    await sleep(1100);
    await hit(ua.link); // the same person again: still one message clicked
    await hit(ub.honeypot); // no person clicks the hidden link
    const unsub = await fetch(ub.unsubscribe, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "List-Unsubscribe=One-Click" });
    expect(unsub.status).toBe(200);
    const { rows: [ma] } = await pool.query("SELECT id FROM messages WHERE campaign_id = $1 AND customer_id = $2", [camp.id, ca.id]);
    const complaint = await h.api("POST", "/v1/inbound/bounces", { messageId: ma.id, type: "complaint" });
    expect(complaint.status, complaint.text).toBeLessThan(300);

    const s = await statsWhen(camp.id, (x) => x.total.clicked === 1 && x.total.machineClicked === 1 && x.total.unsubscribed === 1 && x.total.complained === 1);
    const byPersona = Object.fromEntries(s.data.map((d: { persona: string }) => [d.persona, d]));
    expect(byPersona[a.key]).toMatchObject({ sent: 1, opened: 1, clicked: 1, machineOpened: 1, machineClicked: 0, unsubscribed: 0, complained: 1 });
    expect(byPersona[b.key]).toMatchObject({ sent: 1, opened: 0, clicked: 0, machineOpened: 1, machineClicked: 1, unsubscribed: 1, complained: 0 });
    const raw = await rawEvents(camp.id);
    for (const p of [a.key, b.key]) {
      const { opened, clicked, machineOpened, machineClicked } = byPersona[p];
      expect({ opened, clicked, machineOpened, machineClicked }, p).toEqual(raw[p]);
    }
    expect(s.topLinks).toEqual([{ url: LINK, clicks: 2, machineClicks: 0 }]);
    // The campaign's counts are the sum of its personas'.
    const c = (await h.api("GET", `/v1/campaigns/${camp.id}`)).body;
    expect(c.counts).toMatchObject({ opened: 1, clicked: 1, machineOpened: 2, machineClicked: 1, unsubscribed: 1, complained: 1 });
  });
});
