import "./support/webhook-env.ts";
import { describe, expect, it } from "vitest";
import { onCampaignEngagement, type CampaignEngagementDelta } from "../src/modules/engagement/campaign-stats.ts";
import { clickToken } from "../src/modules/engagement/tokens.ts";
import { pool, rid, sink } from "./support/harness.ts";
import { createCustomer, createTemplate, createTopic, setConsent, sleep, waitForStatus } from "./support/fixtures.ts";
import { harnessWithReceiver } from "./support/webhook-receiver.ts";

const CHROME = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const LINK_A = "https://shop.example/a?x=1&y=2";
const LINK_B = "https://shop.example/b";

const ctx = harnessWithReceiver();

interface Tracked {
  messageId: string;
  customerId: string;
  html: string;
  clicks: string[];
  honeypot: string;
  open: string;
}

/** Sends a marketing message with two links and returns its tracking URLs, sent a minute "ago". */
async function deliverTracked(opts: { sentSecondsAgo?: number } = {}): Promise<Tracked> {
  const topic = await createTopic(ctx.h);
  const tpl = await createTemplate(ctx.h, { html: `<p><a href="${LINK_A.replace("&", "&amp;")}">A</a> <a href='${LINK_B}'>B</a></p>` });
  const c = await createCustomer(ctx.h);
  await setConsent(ctx.h, c.id, topic.key, "opted_in");
  const r = await ctx.h.api("POST", "/v1/messages", { to: { customerId: c.id }, template: tpl.key, topic: topic.key });
  await waitForStatus(ctx.h, r.body.id, ["sent"]);
  const [mail] = await sink.waitFor(c.email);
  const html = String(mail.parsed.html);
  const clicks = [...html.matchAll(/href=["']([^"']*\/t\/c\/[A-Za-z0-9_-]+)["']/g)].map((m) => m[1]);
  const open = html.match(/<img src="([^"]*\/t\/o\/[A-Za-z0-9_-]+)"/)?.[1];
  expect(clicks).toHaveLength(3); // A, B and the hidden honeypot
  expect(open).toBeDefined();
  await pool.query("UPDATE messages SET sent_at = now() - make_interval(secs => $2) WHERE id = $1", [r.body.id, opts.sentSecondsAgo ?? 60]);
  return { messageId: r.body.id, customerId: c.id, html, clicks: clicks.slice(0, 2), honeypot: clicks[2], open: open! };
}

const get = (url: string, headers: Record<string, string> = {}, method = "GET") =>
  fetch(url, { method, headers: { "user-agent": CHROME, ...headers }, redirect: "manual" });

interface MessageBody {
  engagement: { opened: number; clicked: number; machineOpened: number; machineClicked: number };
  events: Array<{ type: string; url?: string; machine?: boolean; rule?: string }>;
}

/** The message once `n` opens/clicks have been written by the engagement writer. */
async function engagementOf(messageId: string, n: number): Promise<MessageBody> {
  const until = Date.now() + 15_000;
  for (;;) {
    const m = (await ctx.h.api("GET", `/v1/messages/${messageId}`)).body as MessageBody;
    const hits = m.events.filter((e) => e.machine !== undefined);
    if (hits.length >= n) return m;
    if (Date.now() > until) throw new Error(`only ${hits.length} of ${n} engagement events: ${JSON.stringify(m.events)}`);
    await sleep(50);
  }
}
const hitsOf = (m: MessageBody) => m.events.filter((e) => e.machine !== undefined).map((e) => ({ type: e.type, machine: e.machine, rule: e.rule }));

describe("click and open tracking", () => {
  it("when a person clicks a tracked link, then it redirects to the original URL and counts one human click and the open it implies", async () => {
    const t = await deliverTracked();
    expect(t.html).not.toContain("shop.example");
    expect(t.html).toMatch(/href="[^"]+\/u\/[^"]+"[^>]*>Unsubscribe/);
    const res = await get(t.clicks[0]);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(LINK_A);
    await sleep(1100); // a second link within a second would look like a scanner's burst
    expect((await get(t.clicks[1])).headers.get("location")).toBe(LINK_B);
    const m = await engagementOf(t.messageId, 2);
    expect(hitsOf(m)).toEqual([{ type: "clicked", machine: false, rule: "human" }, { type: "clicked", machine: false, rule: "human" }]);
    expect(m.events.filter((e) => e.type === "clicked").map((e) => e.url)).toEqual([LINK_A, LINK_B]);
    expect(m.engagement).toMatchObject({ opened: 1, clicked: 2, machineOpened: 0, machineClicked: 0 });
    const stored = await pool.query("SELECT links FROM messages WHERE id = $1", [t.messageId]);
    expect(stored.rows[0].links).toEqual([LINK_A, LINK_B]);
  });

  it("when the token is modified or names a link the message never had, then the answer is 404 with no redirect and nothing is recorded", async () => {
    const t = await deliverTracked();
    const token = t.clicks[0].slice(t.clicks[0].lastIndexOf("/") + 1);
    const base = t.clicks[0].slice(0, t.clicks[0].lastIndexOf("/") + 1);
    // Another link index with the original MAC: a valid-looking token for a URL of this message.
    const raw = Buffer.from(token, "base64url");
    raw[18] ^= 1;
    const otherIndex = raw.toString("base64url");
    const flip = (i: number) => token.slice(0, i) + (token[i] === "A" ? "B" : "A") + token.slice(i + 1);
    for (const bad of [flip(0), flip(10), flip(token.length - 5), flip(token.length - 1), otherIndex]) {
      expect(bad).not.toBe(token);
      const res = await get(base + bad);
      expect(res.status).toBe(404);
      expect(res.headers.get("location")).toBeNull();
    }
    const unknownLink = await get(base + clickToken(t.messageId, 7));
    expect(unknownLink.status).toBe(404);
    expect(unknownLink.headers.get("location")).toBeNull();
    // A real click afterwards is the only event.
    expect((await get(t.clicks[0])).status).toBe(302);
    const m = await engagementOf(t.messageId, 1);
    await sleep(500);
    expect(hitsOf((await ctx.h.api("GET", `/v1/messages/${t.messageId}`)).body)).toHaveLength(1);
    expect(m.engagement.clicked).toBe(1);
  });

  it("when Apple's proxy (17.x, its agent) fetches the pixel, then it is a machine open, not a human one; a later human click counts one human open", async () => {
    const t = await deliverTracked();
    const res = await get(t.open, { "user-agent": "Mozilla/5.0", "x-forwarded-for": "17.58.100.7" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/gif");
    expect((await res.arrayBuffer()).byteLength).toBe(42);
    const first = await engagementOf(t.messageId, 1);
    expect(hitsOf(first)).toEqual([{ type: "opened", machine: true, rule: "apple_mpp" }]);
    expect(first.engagement).toMatchObject({ opened: 0, machineOpened: 1 });

    expect((await get(t.clicks[0])).status).toBe(302);
    const after = await engagementOf(t.messageId, 2);
    expect(after.engagement).toMatchObject({ opened: 1, clicked: 1, machineOpened: 1, machineClicked: 0 });
  });

  it("when a scanner-like agent clicks 1 s after delivery, or a browser agent that fast, then both clicks are machine", async () => {
    const t = await deliverTracked({ sentSecondsAgo: 1 });
    await get(t.clicks[0], { "user-agent": "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))" });
    const m1 = await engagementOf(t.messageId, 1);
    expect(hitsOf(m1)).toEqual([{ type: "clicked", machine: true, rule: "link_scanner" }]);

    const u = await deliverTracked({ sentSecondsAgo: 1 });
    await get(u.clicks[0]);
    const m2 = await engagementOf(u.messageId, 1);
    expect(hitsOf(m2)).toEqual([{ type: "clicked", machine: true, rule: "too_fast" }]);
    expect(m2.engagement).toMatchObject({ opened: 0, clicked: 0, machineClicked: 1 });
  });

  it("when the hidden honeypot link is followed, then the click is machine and nothing redirects", async () => {
    const t = await deliverTracked();
    expect(t.html).toMatch(/<a href="[^"]+\/t\/c\/[^"]+" style="display:none[^"]*"[^>]*aria-hidden="true"/);
    const res = await get(t.honeypot);
    expect(res.status).toBe(200);
    expect(res.headers.get("location")).toBeNull();
    const m = await engagementOf(t.messageId, 1);
    expect(hitsOf(m)).toEqual([{ type: "clicked", machine: true, rule: "honeypot" }]);
    expect(m.engagement).toMatchObject({ opened: 0, clicked: 0, machineClicked: 1 });
  });

  it("when two different links are clicked within a second, or the pixel is fetched with HEAD, then those are machine", async () => {
    const t = await deliverTracked();
    await Promise.all([get(t.clicks[0]), get(t.clicks[1])]);
    const head = await get(t.open, {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("image/gif");
    const m = await engagementOf(t.messageId, 3);
    expect(hitsOf(m).filter((x) => x.type === "clicked")).toEqual([
      { type: "clicked", machine: true, rule: "burst" }, { type: "clicked", machine: true, rule: "burst" },
    ]);
    expect(hitsOf(m).find((x) => x.type === "opened")).toEqual({ type: "opened", machine: true, rule: "head" });
  });

  it("when a browser opens and clicks, then the customer's timeline shows both with machine false, the message's counts, and message.opened/clicked webhooks carry ids", async () => {
    const path = `/${rid("eng-")}`;
    const hook = await ctx.h.api("POST", "/v1/webhooks", { url: ctx.rx.url(path), events: ["message.opened", "message.clicked"] });
    expect(hook.status).toBe(201);
    const t = await deliverTracked();
    await get(t.open, { "user-agent": "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)" });
    await engagementOf(t.messageId, 1);
    await get(t.clicks[1]);
    await engagementOf(t.messageId, 2);
    const tl = (await ctx.h.api("GET", `/v1/customers/${t.customerId}/timeline`)).body.data as Array<Record<string, any>>;
    expect(tl.filter((e) => e.kind === "engagement" && e.machine !== undefined).map((e) => [e.type, e.machine, e.source])).toEqual([["clicked", false, "human"], ["opened", false, "gmail_proxy"]]);
    expect(tl.find((e) => e.kind === "message")!.engagement).toEqual({ opened: 1, clicked: 1, machineOpened: 0, machineClicked: 0 });
    const hooks = await ctx.rx.waitFor(path, 2);
    const bodies = hooks.map((x) => JSON.parse(x.body)).filter((b) => b.data.messageId === t.messageId).sort((a, b) => a.type.localeCompare(b.type));
    expect(bodies.map((b) => [b.type, b.data.messageId, b.data.customerId, b.data.machine])).toEqual([
      ["message.clicked", t.messageId, t.customerId, false], ["message.opened", t.messageId, t.customerId, false],
    ]);
  });

  it("when a topic is transactional, then nothing is tracked unless the topic turns tracking on", async () => {
    const topic = await createTopic(ctx.h, "transactional", "Receipts");
    expect(topic).toMatchObject({ tracking: { opens: false, clicks: false } });
    const tpl = await createTemplate(ctx.h, { html: `<p><a href="${LINK_B}">B</a></p>` });
    const c = await createCustomer(ctx.h);
    const send = async () => {
      const r = await ctx.h.api("POST", "/v1/messages", { to: { customerId: c.id }, template: tpl.key, topic: topic.key });
      await waitForStatus(ctx.h, r.body.id, ["sent"]);
    };
    await send();
    const [plain] = await sink.waitFor(c.email, 1);
    expect(plain.parsed.html).toContain(`href="${LINK_B}"`);
    expect(plain.parsed.html).not.toContain("/t/o/");
    const patched = await ctx.h.api("PATCH", `/v1/topics/${topic.key}`, { tracking: { clicks: true } });
    expect(patched.body.tracking).toEqual({ opens: false, clicks: true });
    await send();
    const [, tracked] = await sink.waitFor(c.email, 2);
    expect(tracked.parsed.html).not.toContain(`href="${LINK_B}"`);
    expect(tracked.parsed.html).toContain("/t/c/");
    expect(tracked.parsed.html).not.toContain("/t/o/");
    expect(tracked.parsed.html).not.toContain("display:none"); // no honeypot in transactional mail
  });

  it("when a customer is erased, then their clicks keep verdicts but lose IP and user agent, and their links no longer redirect", async () => {
    const t = await deliverTracked();
    await get(t.clicks[0], { "x-forwarded-for": "198.51.100.23" });
    await engagementOf(t.messageId, 1);
    const before = await pool.query("SELECT ip_enc, user_agent_enc FROM engagement_events WHERE message_id = $1", [t.messageId]);
    expect(before.rows[0].ip_enc).toBeTruthy();
    expect(before.rows[0].ip_enc).not.toContain("198.51.100.23");
    expect((await ctx.h.api("DELETE", `/v1/customers/${t.customerId}`)).status).toBe(204);
    const after = await pool.query("SELECT machine, rule, ip_enc, user_agent_enc FROM engagement_events WHERE message_id = $1", [t.messageId]);
    expect(after.rows).toEqual([{ machine: false, rule: "human", ip_enc: null, user_agent_enc: null }]);
    const res = await get(t.clicks[0]);
    expect(res.status).toBe(404);
    expect(res.headers.get("location")).toBeNull();
  });

  it("when a campaign's messages are opened by Apple's proxy and clicked by a person, then the campaign deltas per persona keep human and machine apart", async () => {
    const seen: CampaignEngagementDelta[] = [];
    onCampaignEngagement(async (_c, deltas) => {
      seen.push(...deltas);
    });
    const t = await deliverTracked();
    const u = await deliverTracked();
    // Campaign rows come from the campaigns module; here the two messages are tied to one directly.
    const tv = await pool.query("SELECT topic_id, template_version_id FROM messages WHERE id = $1", [t.messageId]);
    const camp = await pool.query<{ id: string }>(
      "INSERT INTO campaigns (id, name, topic_id, template_version_id, audience, updated_at) VALUES (gen_random_uuid(), 'c', $1, $2, '{}', now()) RETURNING id",
      [tv.rows[0].topic_id, tv.rows[0].template_version_id],
    );
    const campaignId = camp.rows[0].id;
    await pool.query("UPDATE messages SET campaign_id = $1, persona_key = CASE WHEN id = $2 THEN 'saver' ELSE 'spender' END WHERE id IN ($2, $3)", [campaignId, t.messageId, u.messageId]);

    await get(t.open, { "user-agent": "Mozilla/5.0", "x-forwarded-for": "17.1.2.3" });
    await get(u.open, { "user-agent": "Mozilla/5.0", "x-forwarded-for": "17.1.2.4" });
    await engagementOf(t.messageId, 1);
    await engagementOf(u.messageId, 1);
    await get(t.clicks[0]);
    await get(t.clicks[0]); // a second click on the same link: the message was already clicked
    await engagementOf(t.messageId, 3);
    const sum = (persona: string) => seen.filter((d) => d.campaignId === campaignId && d.persona === persona).reduce(
      (a, d) => ({ opened: a.opened + d.opened, clicked: a.clicked + d.clicked, machineOpened: a.machineOpened + d.machineOpened, machineClicked: a.machineClicked + d.machineClicked }),
      { opened: 0, clicked: 0, machineOpened: 0, machineClicked: 0 },
    );
    expect(sum("saver")).toEqual({ opened: 1, clicked: 1, machineOpened: 1, machineClicked: 0 });
    expect(sum("spender")).toEqual({ opened: 0, clicked: 0, machineOpened: 1, machineClicked: 0 });
  });
});
