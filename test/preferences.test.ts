import { describe, expect, it } from "vitest";
import { preferencesUrl } from "../src/modules/public-links/public-links.service.ts";
import { useBrowser } from "./support/browser.ts";
import { db, email, rid, sink, useHarness } from "./support/harness.ts";

const h = useHarness();
const browser = useBrowser();

const statusOf = async (id: string) =>
  Object.fromEntries((await h.api("GET", `/v1/customers/${id}/consents`)).body.data.map((c: any) => [c.topic, c.status]));

/** The link an email to the customer's current address carries. */
async function linkFor(customerId: string) {
  const c = await db.customer.findUniqueOrThrow({ where: { id: customerId } });
  return preferencesUrl(customerId, c.emailHash!);
}

describe("preference center", () => {
  it("when a customer changes topics in the browser, then consent follows, each change is in the ledger, and a double opt-in topic asks for confirmation", async () => {
    const [a, b, d] = [rid("pa-"), rid("pb-"), rid("pd-")];
    await h.api("POST", "/v1/topics", { key: a, name: `A ${a}`, kind: "marketing" });
    await h.api("POST", "/v1/topics", { key: b, name: `B ${b}`, kind: "marketing" });
    await h.api("POST", "/v1/topics", { key: d, name: `D ${d}`, kind: "marketing", doubleOptIn: true });
    const c = (await h.api("POST", "/v1/customers", { email: email("pref"), name: "Pia" })).body;
    await h.api("PUT", `/v1/customers/${c.id}/consents/${a}`, { status: "opted_in", source: "signup" });

    const page = await browser.newPage();
    await page.goto(await linkFor(c.id));
    expect(await page.isChecked(`#topic-${a}`)).toBe(true);
    expect(await page.isChecked(`#topic-${b}`)).toBe(false);
    await page.uncheck(`#topic-${a}`);
    await page.check(`#topic-${b}`);
    await page.check(`#topic-${d}`);
    await page.click("#save");
    await page.waitForSelector("#saved");
    expect(await page.isChecked(`#topic-${b}`)).toBe(true);

    expect(await statusOf(c.id)).toMatchObject({ [a]: "opted_out", [b]: "opted_in", [d]: "pending" });
    const ledger = (await h.api("GET", `/v1/customers/${c.id}/consent-events`)).body.data;
    const fromCenter = ledger.filter((e: any) => e.source === "preference-center");
    expect(fromCenter.map((e: any) => [e.topic, e.action]).sort()).toEqual([[a, "opted_out"], [b, "opted_in"], [d, "opt_in_requested"]].sort());
    expect(fromCenter.every((e: any) => e.actor === "customer" && /Chrome/.test(e.userAgent))).toBe(true);
    await sink.waitFor(c.email);

    await page.click("#unsubscribe-all");
    await page.waitForSelector("#saved");
    expect(await statusOf(c.id)).toMatchObject({ [a]: "opted_out", [b]: "opted_out", [d]: "opted_out" });
    await page.close();
  });

  it("when the preferences token is tampered with, then 404 and nothing changes", async () => {
    const c = (await h.api("POST", "/v1/customers", { email: email("pref") })).body;
    const url = await linkFor(c.id);
    const bad = url.slice(0, -2) + (url.endsWith("xx") ? "yy" : "xx");
    expect((await fetch(bad)).status).toBe(404);
    const post = await fetch(bad, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "action=unsubscribe_all" });
    expect(post.status).toBe(404);
    expect(await db.consentEvent.count({ where: { customerId: c.id } })).toBe(0);
  });

  it("when the customer's address was changed, then a link sent to the old address opens nothing and changes nothing", async () => {
    const topic = rid("pold-");
    await h.api("POST", "/v1/topics", { key: topic, name: `Old ${topic}`, kind: "marketing" });
    const c = (await h.api("POST", "/v1/customers", { email: email("pref") })).body;
    const old = await linkFor(c.id);
    expect((await fetch(old)).status).toBe(200);
    expect((await h.api("PATCH", `/v1/customers/${c.id}`, { email: email("moved") })).status).toBe(200);
    expect((await fetch(old)).status).toBe(404);
    const post = await fetch(old, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `topics=${topic}` });
    expect(post.status).toBe(404);
    expect(await db.consentEvent.count({ where: { customerId: c.id } })).toBe(0);
    expect((await fetch(await linkFor(c.id))).status).toBe(200);
  });
});
