import "./support/isolate-webhooks.ts";
import "./support/webhook-env.ts";
import { Webhook } from "standardwebhooks";
import { emitEvents } from "../src/modules/webhooks/emit.ts";
import { describe, expect, it } from "vitest";
import { pool, rid, sink } from "./support/harness.ts";
import { campaignWorld, createCampaign, customerIn, waitCampaign } from "./support/campaigns.ts";
import { createCustomer, createTemplate, createTopic, setConsent, sleep, waitForStatus } from "./support/fixtures.ts";
import { harnessWithReceiver, type ReceivedHook } from "./support/webhook-receiver.ts";

const ctx = harnessWithReceiver();

/**
 * Test files share one database, and consent changes anywhere create deliveries for every endpoint
 * subscribed: endpoints here subscribe to an event no test emits, unless a test needs another one.
 */
async function register(events = ["campaign.completed"]) {
  const path = `/${rid("hook-")}`;
  const r = await ctx.h.api("POST", "/v1/webhooks", { url: ctx.rx.url(path), events });
  expect(r.status, r.text).toBe(201);
  return { id: r.body.id as string, secret: r.body.secret as string, path };
}

const headersOf = (hook: ReceivedHook) => ({
  "webhook-id": String(hook.headers["webhook-id"]),
  "webhook-timestamp": String(hook.headers["webhook-timestamp"]),
  "webhook-signature": String(hook.headers["webhook-signature"]),
});

async function deliveries(id: string) {
  const r = await ctx.h.api("GET", `/v1/webhooks/${id}/deliveries`);
  expect(r.status, r.text).toBe(200);
  return r.body.data as Array<{ id: string; status: string; attempts: number; log: Array<{ attempt: number; statusCode: number | null; outcome: string; response: string | null; at: string }> }>;
}

async function waitUntil<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > until) throw new Error(`condition not met; last: ${JSON.stringify(v)}`);
    await sleep(50);
  }
}

describe("outbound webhooks (Standard Webhooks)", () => {
  it("when an endpoint is registered, then its whsec_ secret is shown once, and a test delivery verifies with the standardwebhooks package while a tampered body does not", async () => {
    const { id, secret, path } = await register();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    const got = await ctx.h.api("GET", `/v1/webhooks/${id}`);
    expect(got.status).toBe(200);
    expect(got.text).not.toContain(secret.slice(6));
    expect(got.body).toMatchObject({ id, enabled: true, events: ["campaign.completed"] });

    const test = await ctx.h.api("POST", `/v1/webhooks/${id}/test`);
    expect(test.status, test.text).toBe(202);
    const [hook] = await ctx.rx.waitFor(path);
    expect(hook.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
    const payload = new Webhook(secret).verify(hook.body, headersOf(hook)) as { type: string; data: { webhookId: string } };
    expect(payload).toMatchObject({ type: "webhook.test", data: { webhookId: id } });
    const tampered = hook.body.replace(id, id.replace(/.$/, (c) => (c === "0" ? "1" : "0")));
    expect(tampered).not.toBe(hook.body);
    expect(() => new Webhook(secret).verify(tampered, headersOf(hook))).toThrow(/signature/i);
  });

  it("when consent is granted and withdrawn, then consent.changed and customer.unsubscribed arrive carrying ids and no address", async () => {
    const { secret, path } = await register(["consent.changed", "customer.unsubscribed"]);
    const topic = await createTopic(ctx.h);
    const c = await createCustomer(ctx.h);
    await setConsent(ctx.h, c.id, topic.key, "opted_in");
    await setConsent(ctx.h, c.id, topic.key, "opted_out");
    // Other test files change consents too: only this customer's events count here.
    const mine = (x: ReceivedHook) => JSON.parse(x.body).data.customerId === c.id;
    const until = Date.now() + 15_000;
    while (ctx.rx.on(path).filter(mine).length < 3 && Date.now() < until) await sleep(25);
    const hooks = ctx.rx.on(path).filter(mine);
    expect(hooks).toHaveLength(3);
    const bodies = hooks.map((x) => new Webhook(secret).verify(x.body, headersOf(x)) as { type: string; data: Record<string, unknown> });
    expect(bodies.map((b) => b.type).sort()).toEqual(["consent.changed", "consent.changed", "customer.unsubscribed"]);
    for (const b of bodies) expect(b.data).toMatchObject({ customerId: c.id, topic: topic.key, topicId: topic.id });
    expect(bodies.find((b) => b.type === "customer.unsubscribed")!.data.source).toBe("test");
    for (const x of hooks) expect(x.body.toLowerCase()).not.toContain(c.email.toLowerCase());
  });

  it("when messages are sent, fail and bounce and a campaign completes, then message.sent, message.failed, message.bounced and campaign.completed arrive with ids and no address", async () => {
    const { secret, path } = await register(["message.sent", "message.failed", "message.bounced", "campaign.completed"]);
    const topic = await createTopic(ctx.h, "transactional", "Receipts");
    const tpl = await createTemplate(ctx.h);
    const people = [await createCustomer(ctx.h), await createCustomer(ctx.h), await createCustomer(ctx.h)];
    const answers: Array<[number, string] | null> = [null, [554, "5.7.1 Rejected by policy"], [550, "5.1.1 <rcpt>: user unknown"]];
    const ids: string[] = [];
    for (const [i, c] of people.entries()) {
      const a = answers[i];
      if (a) sink.failNext(a[0], a[1]);
      const r = await ctx.h.api("POST", "/v1/messages", { to: { customerId: c.id }, template: tpl.key, topic: topic.key });
      expect(r.status, r.text).toBe(202);
      ids.push(r.body.id);
      await waitForStatus(ctx.h, r.body.id, [["sent", "failed", "bounced"][i]]);
    }
    const w = await campaignWorld(ctx.h, 1);
    for (let i = 0; i < 2; i++) await customerIn(ctx.h, { persona: w.personas[0], consent: w.topic.key });
    const camp = await createCampaign(ctx.h, { topic: w.topic.key, template: w.template, audience: { personas: w.personas } });
    expect((await ctx.h.api("POST", `/v1/campaigns/${camp.id}/schedule`)).status).toBe(200);
    await waitCampaign(ctx.h, camp.id, (c) => c.status === "completed");

    const bodies = () => ctx.rx.on(path).map((x) => new Webhook(secret).verify(x.body, headersOf(x)) as { type: string; data: Record<string, any> });
    const until = Date.now() + 15_000;
    const of = (type: string) => bodies().filter((b) => b.type === type);
    while (Date.now() < until && (of("message.sent").length < 3 || of("campaign.completed").length < 1 || of("message.bounced").length < 1)) await sleep(50);
    const byMessage = (type: string, id: string) => of(type).filter((b) => b.data.messageId === id);
    expect(byMessage("message.sent", ids[0])).toHaveLength(1);
    expect(byMessage("message.sent", ids[0])[0].data).toMatchObject({ customerId: people[0].id, topicId: topic.id, campaignId: null, attempts: 1, diagnostic: null });
    expect(byMessage("message.failed", ids[1])).toHaveLength(1);
    expect(byMessage("message.failed", ids[1])[0].data.diagnostic).toMatch(/5\.7\.1/);
    expect(byMessage("message.bounced", ids[2])).toHaveLength(1);
    // The campaign's two messages were sent too, each with the campaign's id.
    expect(of("message.sent").filter((b) => b.data.campaignId === camp.id)).toHaveLength(2);
    const done = of("campaign.completed");
    expect(done).toHaveLength(1);
    expect(done[0].data).toMatchObject({ campaignId: camp.id, counts: { sent: 2 } });
    const all = ctx.rx.on(path).map((x) => x.body.toLowerCase()).join("\n");
    for (const c of people) expect(all).not.toContain(c.email.toLowerCase());
  });

  it("when the endpoint answers 500 and then 200, then the delivery is retried after the schedule's delay and both attempts are in the log", async () => {
    const { id, path } = await register();
    ctx.rx.answer(500);
    await ctx.h.api("POST", `/v1/webhooks/${id}/test`);
    const hooks = await ctx.rx.waitFor(path, 2);
    expect(hooks[0].headers["webhook-id"]).toBe(hooks[1].headers["webhook-id"]);
    expect(hooks[1].at - hooks[0].at).toBeGreaterThanOrEqual(250);
    const [d] = await waitUntil(() => deliveries(id), (ds) => ds[0]?.status === "delivered");
    expect(d.attempts).toBe(2);
    expect(d.log.map((a) => [a.attempt, a.statusCode, a.outcome])).toEqual([[1, 500, "http_error"], [2, 200, "ok"]]);
    // The response excerpt is kept, with addresses scrubbed.
    expect(d.log[0].response).toBe("status 500 from [address]");
    expect((await ctx.h.api("GET", `/v1/webhooks/${id}`)).body.failingSince).toBeNull();
  });

  it("when the endpoint answers 410 Gone, then it is disabled at once, not retried, and receives no further events", async () => {
    const { id, path } = await register();
    ctx.rx.answer(410);
    await ctx.h.api("POST", `/v1/webhooks/${id}/test`);
    await ctx.rx.waitFor(path, 1);
    const w = await waitUntil(async () => (await ctx.h.api("GET", `/v1/webhooks/${id}`)).body, (b) => b.enabled === false);
    expect(w).toMatchObject({ enabled: false, disabledReason: "gone" });
    const [d] = await deliveries(id);
    expect(d).toMatchObject({ status: "failed", attempts: 1 });

    const completed = { type: "campaign.completed" as const, data: { campaignId: id } };
    await emitEvents([completed]);
    await sleep(800);
    expect(ctx.rx.on(path)).toHaveLength(1);
    expect(await deliveries(id)).toHaveLength(1);
    expect((await ctx.h.api("POST", `/v1/webhooks/${id}/test`)).status).toBe(409);

    // Re-enabled by hand, the same event reaches it.
    expect((await ctx.h.api("PATCH", `/v1/webhooks/${id}`, { enabled: true })).body).toMatchObject({ enabled: true, disabledReason: null });
    await emitEvents([completed]);
    const [, again] = await ctx.rx.waitFor(path, 2);
    expect(JSON.parse(again.body)).toMatchObject(completed);
  });

  it("when an endpoint has been failing for more than 5 days, then the next failure disables it", async () => {
    const { id, path } = await register();
    await pool.query("UPDATE webhooks SET failing_since = now() - interval '6 days' WHERE id = $1", [id]);
    ctx.rx.answer(503);
    await ctx.h.api("POST", `/v1/webhooks/${id}/test`);
    await ctx.rx.waitFor(path, 1);
    const w = await waitUntil(async () => (await ctx.h.api("GET", `/v1/webhooks/${id}`)).body, (b) => b.enabled === false);
    expect(w.disabledReason).toBe("failing");
  });

  it("when the secret is rotated, then both secrets verify deliveries during the overlap, and only the new one after it", async () => {
    const { id, secret: oldSecret, path } = await register();
    await ctx.h.api("POST", `/v1/webhooks/${id}/test`);
    const [before] = await ctx.rx.waitFor(path, 1);
    expect(String(before.headers["webhook-signature"]).split(" ")).toHaveLength(1);

    const rot = await ctx.h.api("POST", `/v1/webhooks/${id}/rotate-secret`);
    expect(rot.status, rot.text).toBe(200);
    const newSecret = rot.body.secret as string;
    expect(newSecret).not.toBe(oldSecret);
    const expires = Date.parse(rot.body.previousSecretExpiresAt);
    expect(expires - Date.now()).toBeGreaterThan(23.9 * 3600_000);
    expect(expires - Date.now()).toBeLessThanOrEqual(24 * 3600_000);

    await ctx.h.api("POST", `/v1/webhooks/${id}/test`);
    const during = (await ctx.rx.waitFor(path, 2))[1];
    expect(String(during.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    expect(() => new Webhook(oldSecret).verify(during.body, headersOf(during))).not.toThrow();
    expect(() => new Webhook(newSecret).verify(during.body, headersOf(during))).not.toThrow();

    await pool.query("UPDATE webhooks SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1", [id]);
    await ctx.h.api("POST", `/v1/webhooks/${id}/test`);
    const after = (await ctx.rx.waitFor(path, 3))[2];
    expect(() => new Webhook(newSecret).verify(after.body, headersOf(after))).not.toThrow();
    expect(() => new Webhook(oldSecret).verify(after.body, headersOf(after))).toThrow();
  });

  it("when a delivery is replayed, then it is sent again with the same webhook-id and the log counts on", async () => {
    const { id, path } = await register();
    await ctx.h.api("POST", `/v1/webhooks/${id}/test`);
    await ctx.rx.waitFor(path, 1);
    const [d] = await waitUntil(() => deliveries(id), (ds) => ds[0]?.status === "delivered");
    const r = await ctx.h.api("POST", `/v1/webhooks/${id}/deliveries/${d.id}/replay`);
    expect(r.status, r.text).toBe(202);
    const hooks = await ctx.rx.waitFor(path, 2);
    expect(hooks[1].headers["webhook-id"]).toBe(hooks[0].headers["webhook-id"]);
    const [again] = await waitUntil(() => deliveries(id), (ds) => ds[0]?.attempts === 2 && ds[0].status === "delivered");
    expect(again.log.map((a) => a.attempt)).toEqual([1, 2]);
  });

  it("when the body is invalid or the role is not admin, then nothing is created", async () => {
    const before = (await ctx.h.api("GET", "/v1/webhooks?limit=500")).body.data.length;
    const bad = await ctx.h.api("POST", "/v1/webhooks", { url: ctx.rx.url("/x"), events: ["message.exploded"] });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toMatch(/^events/);
    const ftp = await ctx.h.api("POST", "/v1/webhooks", { url: "ftp://example.com/x", events: ["message.sent"] });
    expect(ftp.status).toBe(400);
    expect(ftp.body.errors[0].path).toBe("url");
    const marketer = await ctx.h.keyFor("marketer");
    expect((await ctx.h.api("POST", "/v1/webhooks", { url: ctx.rx.url("/x"), events: ["message.sent"] }, { key: marketer })).status).toBe(403);
    expect((await ctx.h.api("GET", "/v1/webhooks?limit=500")).body.data.length).toBe(before);
  });
});
