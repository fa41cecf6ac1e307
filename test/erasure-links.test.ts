// Issue 9, finding 6: links in mail sent before an erasure must not reveal or change anything
// afterwards; they answer 404 like everything else about an erased customer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { confirmUrl, preferencesUrl, unsubscribeUrl } from "../src/modules/public-links/public-links.service.ts";
import { createTemplate } from "./support/fixtures.ts";
import { db, email, pool, rid, startHarness, type Harness } from "./support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ workers: false });
});
afterAll(() => h.close());

const form = (url: string, body: string) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body, redirect: "manual" });

const ledgerRows = async (customerId: string) =>
  (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM consent_events WHERE customer_id = $1", [customerId])).rows[0].n;
const messageEvents = async (customerId: string) =>
  (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM message_events WHERE customer_id = $1", [customerId])).rows[0].n;

describe("public links after erasure", () => {
  it("when a customer is erased, then unsubscribe, confirmation and preference links answer 404 and write nothing", async () => {
    const news = rid("news-");
    const club = rid("club-");
    expect((await h.api("POST", "/v1/topics", { key: news, name: "News", kind: "marketing" })).status).toBe(201);
    expect((await h.api("POST", "/v1/topics", { key: club, name: "Club", kind: "marketing", doubleOptIn: true })).status).toBe(201);
    const c = (await h.api("POST", "/v1/customers", { email: email("links") })).body;
    expect((await h.api("PUT", `/v1/customers/${c.id}/consents/${news}`, { status: "opted_in", source: "signup-form", proof: "form v1" })).status).toBe(200);
    expect((await h.api("PUT", `/v1/customers/${c.id}/consents/${club}`, { status: "opted_in", source: "signup-form", proof: "form v1" })).body.status).toBe("pending");
    const { key: template } = await createTemplate(h);
    const msg = await h.api("POST", "/v1/messages", { to: { customerId: c.id }, template, topic: news });
    expect(msg.status).toBe(202);

    const row = await db.customer.findUniqueOrThrow({ where: { id: c.id } });
    const [newsTopic, clubTopic] = await Promise.all([db.topic.findUniqueOrThrow({ where: { key: news } }), db.topic.findUniqueOrThrow({ where: { key: club } })]);
    const pending = await db.consent.findFirstOrThrow({ where: { customerId: c.id, topicId: clubTopic.id } });
    const unsubscribe = unsubscribeUrl(c.id, newsTopic.id, msg.body.id);
    const confirm = confirmUrl(c.id, clubTopic.id, pending.updatedAt);
    const preferences = preferencesUrl(c.id, row.emailHash!);

    // Before: every link works (read-only requests, so nothing changes yet).
    const offer = await fetch(unsubscribe);
    expect(offer.status).toBe(200);
    expect(await offer.text()).toContain('id="unsubscribe"');
    const confirmPage = await fetch(confirm);
    expect(confirmPage.status).toBe(200);
    expect(await confirmPage.text()).toContain('id="confirm"');
    expect((await fetch(preferences)).status).toBe(200);

    expect((await h.api("DELETE", `/v1/customers/${c.id}`)).status).toBe(204);
    const [ledgerBefore, eventsBefore] = [await ledgerRows(c.id), await messageEvents(c.id)];
    expect(ledgerBefore).toBe(2); // opted_in on news, opt_in_requested on club

    const answers = {
      "GET /u": (await fetch(unsubscribe)).status,
      "POST /u one-click": (await form(unsubscribe, "List-Unsubscribe=One-Click")).status,
      "POST /u page": (await form(unsubscribe, "confirm=page")).status,
      "GET /confirm": (await fetch(confirm)).status,
      "POST /confirm": (await fetch(confirm, { method: "POST" })).status,
      "GET /preferences": (await fetch(preferences)).status,
      "POST /preferences save": (await form(preferences, `action=save&topic=${news}`)).status,
      "POST /preferences unsubscribe_all": (await form(preferences, "action=unsubscribe_all")).status,
    };
    expect(answers).toEqual(Object.fromEntries(Object.keys(answers).map((k) => [k, 404])));
    expect(await ledgerRows(c.id)).toBe(ledgerBefore);
    expect(await messageEvents(c.id)).toBe(eventsBefore);
  });
});
