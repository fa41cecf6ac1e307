// Feedback (issue 11, part 2): the unsubscribe page and the preference center ask, optionally, why
// and whether there is anything we should know. The answer is a touchpoint on the timeline, listed by
// GET /v1/feedback (marketers), sent as feedback.received (ids, never the comment or an address),
// encrypted at rest and erased with the customer.
import "./support/webhook-env.ts";
import { describe, expect, it } from "vitest";
import { preferencesUrl, unsubscribeUrl } from "../src/modules/public-links/public-links.service.ts";
import { createCustomer, createTopic, setConsent, sleep } from "./support/fixtures.ts";
import { hiddenFields, postForm } from "./support/forms.ts";
import { db, pool, rid } from "./support/harness.ts";
import { harnessWithReceiver } from "./support/webhook-receiver.ts";

const ctx = harnessWithReceiver();

async function optedIn() {
  const topic = await createTopic(ctx.h, "marketing", "Feedback news");
  const c = await createCustomer(ctx.h, { name: "Fay" });
  await setConsent(ctx.h, c.id, topic.key, "opted_in");
  const topicId = (await db.topic.findUniqueOrThrow({ where: { key: topic.key } })).id;
  return { c, topic, topicId };
}

const feedbackOf = async (customerId: string, key?: string) =>
  (await ctx.h.api("GET", `/v1/feedback?customerId=${customerId}`, undefined, key ? { key } : {})).body.data as any[];

describe("feedback", () => {
  it("when a customer unsubscribes on the page and says why, then it is a timeline touchpoint, listed for marketers, stored encrypted and sent as feedback.received without the comment", async () => {
    const path = `/${rid("fb-")}`;
    const hook = await ctx.h.api("POST", "/v1/webhooks", { url: ctx.rx.url(path), events: ["feedback.received"] });
    expect(hook.status, hook.text).toBe(201);
    const { c, topic, topicId } = await optedIn();
    const url = unsubscribeUrl(c.id, topicId);
    const page = await (await fetch(url)).text();
    expect(page).toContain('id="reason"');
    expect(page).toContain('id="comment"');

    const comment = "Too much about shoes, I only buy hats";
    const r = await postForm(url, { ...(await hiddenFields(url)), reason: "not_relevant", comment });
    expect(r.status).toBe(200);
    expect((await ctx.h.api("GET", `/v1/customers/${c.id}/consents`)).body.data[0]).toMatchObject({ topic: topic.key, status: "opted_out" });

    const marketer = await ctx.h.keyFor("marketer");
    const list = await feedbackOf(c.id, marketer);
    expect(list).toEqual([expect.objectContaining({ customerId: c.id, source: "unsubscribe-page", reason: "not_relevant", comment, topic: topic.key })]);
    // At rest: ciphertext only.
    const stored = (await pool.query("SELECT comment_enc FROM feedback WHERE customer_id = $1", [c.id])).rows[0].comment_enc as string;
    expect(stored).toBeTruthy();
    expect(stored).not.toContain("hats");

    const timeline = (await ctx.h.api("GET", `/v1/customers/${c.id}/timeline`)).body.data;
    expect(timeline).toEqual(expect.arrayContaining([expect.objectContaining({ kind: "feedback", type: "feedback", source: "unsubscribe-page", topic: topic.key })]));

    const [got] = (await ctx.rx.waitFor(path)).filter((x) => x.body.includes(c.id));
    const body = JSON.parse(got.body);
    expect(body).toMatchObject({ type: "feedback.received", data: { feedbackId: list[0].id, customerId: c.id, reason: "not_relevant", topic: topic.key, hasComment: true } });
    expect(got.body).not.toContain("hats");
    expect(got.body.toLowerCase()).not.toContain(c.email.toLowerCase());
    await ctx.h.api("DELETE", `/v1/webhooks/${hook.body.id}`);
  });

  it("when the page is sent without answers, or by one-click, then no feedback is recorded", async () => {
    const a = await optedIn();
    const url = unsubscribeUrl(a.c.id, a.topicId);
    expect((await postForm(url, { ...(await hiddenFields(url)), reason: "", comment: "  " })).status).toBe(200);
    const b = await optedIn();
    expect((await postForm(unsubscribeUrl(b.c.id, b.topicId), { "List-Unsubscribe": "One-Click" })).status).toBe(200);
    await sleep(100);
    // Precondition: both unsubscribed.
    for (const x of [a, b]) expect((await ctx.h.api("GET", `/v1/customers/${x.c.id}/consents`)).body.data[0].status).toBe("opted_out");
    expect(await feedbackOf(a.c.id)).toEqual([]);
    expect(await feedbackOf(b.c.id)).toEqual([]);
  });

  it("when a reason is unknown or a comment too long, then the form is refused and nothing changes", async () => {
    const { c, topicId } = await optedIn();
    const url = unsubscribeUrl(c.id, topicId);
    expect((await postForm(url, { ...(await hiddenFields(url)), reason: "because" })).status).toBe(400);
    expect((await postForm(url, { ...(await hiddenFields(url)), comment: "x".repeat(1001) })).status).toBe(400);
    expect((await ctx.h.api("GET", `/v1/customers/${c.id}/consents`)).body.data[0].status).toBe("opted_in");
    expect(await feedbackOf(c.id)).toEqual([]);
  });

  it("when feedback is listed, then it pages like other lists, its query is strict and only marketers and admins may", async () => {
    const { c } = await optedIn();
    const url = preferencesUrl(c.id, (await db.customer.findUniqueOrThrow({ where: { id: c.id } })).emailHash!);
    for (const reason of ["too_many", "content", "other"]) {
      const r = await postForm(url, { ...(await hiddenFields(url)), action: "save", pause: "keep", reason });
      expect(r.status).toBe(303);
    }
    const first = await ctx.h.api("GET", `/v1/feedback?customerId=${c.id}&limit=2`);
    expect(first.body.data.map((f: any) => f.reason)).toEqual(["other", "content"]);
    expect(first.body.nextCursor).toBeTruthy();
    const second = await ctx.h.api("GET", `/v1/feedback?customerId=${c.id}&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body).toEqual({ data: [expect.objectContaining({ reason: "too_many", source: "preference-center", comment: null })], nextCursor: null });
    expect((await ctx.h.api("GET", "/v1/feedback?bogus=1")).status).toBe(400);
    expect((await ctx.h.api("GET", "/v1/feedback?cursor=nope")).status).toBe(400);
    expect((await ctx.h.api("GET", "/v1/feedback", undefined, { key: await ctx.h.keyFor("developer") })).status).toBe(403);
  });

  it("when the customer is erased, then their comment is gone and the reason stays", async () => {
    const { c, topicId } = await optedIn();
    const url = unsubscribeUrl(c.id, topicId);
    await postForm(url, { ...(await hiddenFields(url)), reason: "too_many", comment: "my name is Fay" });
    expect((await feedbackOf(c.id))[0].comment).toBe("my name is Fay");
    expect((await ctx.h.api("DELETE", `/v1/customers/${c.id}`)).status).toBe(204);
    expect(await feedbackOf(c.id)).toEqual([expect.objectContaining({ reason: "too_many", comment: null })]);
    expect((await pool.query("SELECT comment_enc FROM feedback WHERE customer_id = $1", [c.id])).rows[0].comment_enc).toBeNull();
  });
});
