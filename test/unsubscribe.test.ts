import { describe, expect, it } from "vitest";
import { sink, useHarness } from "./support/harness.ts";
import { createCustomer, createTemplate, createTopic, setConsent, waitForStatus } from "./support/fixtures.ts";

const h = useHarness();

/** Delivers a marketing message and returns the one-click URL from its List-Unsubscribe header. */
async function deliveredUnsubscribeUrl() {
  const topic = await createTopic(h, "marketing", "Deals");
  const tpl = await createTemplate(h);
  const c = await createCustomer(h);
  await setConsent(h, c.id, topic.key, "opted_in");
  const r = await h.api("POST", "/v1/messages", { to: { customerId: c.id }, template: tpl.key, topic: topic.key });
  await waitForStatus(h, r.body.id, ["sent"]);
  const [mail] = await sink.waitFor(c.email);
  const url = mail.raw.match(/^List-Unsubscribe: <([^>]+)>/m)![1];
  // The same link is in the body (the layout's footer).
  expect(mail.parsed.html).toContain(url.replace(/&/g, "&amp;"));
  return { topic, tpl, customer: c, messageId: r.body.id as string, url };
}

/** A mail client's RFC 8058 request: form-encoded body, no cookies, no Authorization. */
const oneClick = (url: string, body = "List-Unsubscribe=One-Click") =>
  fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body, redirect: "manual" });

const consentOf = async (customerId: string, topicKey: string) =>
  (await h.api("GET", `/v1/customers/${customerId}/consents`)).body.data.find((c: { topic: string }) => c.topic === topicKey)?.status;

describe("one-click unsubscribe", () => {
  it("when a mail client POSTs List-Unsubscribe=One-Click without cookies or auth, then the customer is opted out of that topic; a second POST is harmless", async () => {
    const { topic, tpl, customer, messageId, url } = await deliveredUnsubscribeUrl();
    const first = await oneClick(url);
    expect(first.status).toBe(200);
    expect(first.headers.get("location")).toBeNull();
    expect(first.headers.get("content-type")).toMatch(/text\/html/);
    expect(await consentOf(customer.id, topic.key)).toBe("opted_out");

    const ledger = (await h.api("GET", `/v1/customers/${customer.id}/consent-events`)).body.data;
    expect(ledger.at(-1)).toMatchObject({ topic: topic.key, action: "opted_out", source: "one-click-unsubscribe", actor: "customer" });

    const second = await oneClick(url);
    expect(second.status).toBe(200);
    const after = (await h.api("GET", `/v1/customers/${customer.id}/consent-events`)).body.data;
    expect(after).toHaveLength(ledger.length);

    const m = await h.api("GET", `/v1/messages/${messageId}`);
    expect(m.body.events.filter((e: { type: string }) => e.type === "unsubscribed")).toHaveLength(1);

    const next = await h.api("POST", "/v1/messages", { to: { customerId: customer.id }, template: tpl.key, topic: topic.key });
    expect(next.body).toMatchObject({ status: "suppressed", reason: "unsubscribed" });
  });

  it("when the link is opened with GET, then a page with a button is shown and nothing changes until the button is pressed", async () => {
    const { topic, customer, url } = await deliveredUnsubscribeUrl();
    const page = await fetch(url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Deals");
    expect(html).toMatch(/<form method="post" action="\/u\/[^"]+"/);
    const again = await fetch(url);
    expect(again.status).toBe(200);
    expect(await consentOf(customer.id, topic.key)).toBe("opted_in");

    // The page's own form: its button posts confirm=page with the page's CSRF token.
    const csrf = html.match(/name="csrf" value="([^"]+)"/)![1];
    const pressed = await oneClick(url, `confirm=page&csrf=${encodeURIComponent(csrf)}`);
    expect(pressed.status).toBe(200);
    expect(await consentOf(customer.id, topic.key)).toBe("opted_out");
    const ledger = (await h.api("GET", `/v1/customers/${customer.id}/consent-events`)).body.data;
    expect(ledger.at(-1)).toMatchObject({ source: "unsubscribe-page", actor: "customer" });
    expect(await (await fetch(url)).text()).toContain("You are unsubscribed");
  });

  it("when the token is tampered with, then GET and POST answer 404 and nothing changes", async () => {
    const { topic, customer, url } = await deliveredUnsubscribeUrl();
    const token = url.slice(url.lastIndexOf("/") + 1);
    const [body, mac] = token.split(".");
    const flipped = (s: string) => s.slice(0, -1) + (s.endsWith("A") ? "B" : "A");
    for (const bad of [`${body}.${flipped(mac)}`, `${flipped(body)}.${mac}`, "garbage", `${body}`]) {
      const target = `${h.baseUrl}/u/${bad}`;
      const g = await fetch(target);
      expect(g.status, bad).toBe(404);
      expect(g.headers.get("content-type")).toMatch(/problem\+json/);
      expect((await oneClick(target)).status, bad).toBe(404);
    }
    expect(await consentOf(customer.id, topic.key)).toBe("opted_in");
  });
});
