import { describe, expect, it } from "vitest";
import { signToken } from "../src/platform/secrets.ts";
import { useBrowser } from "./support/browser.ts";
import { sleep, waitUntil } from "./support/wait.ts";
import { db, email, rid, sink, useHarness } from "./support/harness.ts";
import { hiddenFields, postForm } from "./support/forms.ts";

const h = useHarness();
const browser = useBrowser();

async function pendingCustomer() {
  const topic = rid("doi-");
  await h.api("POST", "/v1/topics", { key: topic, name: "Product news", description: "Monthly product news", kind: "marketing", doubleOptIn: true });
  const addr = email("doi");
  const c = (await h.api("POST", "/v1/customers", { email: addr, name: "Dora" })).body;
  const put = await h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_in", source: "newsletter-form", proof: "form#footer" });
  expect(put.body.status).toBe("pending");
  const [mail] = await sink.waitFor(c.email);
  const link = /(http:\/\/127\.0\.0\.1:\d+\/confirm\/[A-Za-z0-9_.-]+)/.exec(mail.parsed.text ?? "")![1];
  return { topic, c, mail, link };
}

const consentOf = async (customerId: string, topic: string) =>
  (await h.api("GET", `/v1/customers/${customerId}/consents`)).body.data.find((x: any) => x.topic === topic)?.status;

describe("double opt-in", () => {
  it("when a customer opts in on a double opt-in topic, then a confirmation email arrives over SMTP and a click in a real browser confirms", async () => {
    const { topic, c, mail, link } = await pendingCustomer();
    expect(mail.parsed.subject).toContain("Product news");
    expect(mail.parsed.html).toContain(link.replace(/&/g, "&amp;"));

    // A link scanner fetching the page changes nothing.
    const scanned = await fetch(link);
    expect(scanned.status).toBe(200);
    expect(await consentOf(c.id, topic)).toBe("pending");

    const page = await browser.newPage();
    await page.goto(link);
    await page.click("#confirm");
    await page.waitForSelector("#done");
    await page.close();
    expect(await consentOf(c.id, topic)).toBe("opted_in");

    const ledger = (await h.api("GET", `/v1/customers/${c.id}/consent-events`)).body.data;
    expect(ledger.map((e: any) => e.action)).toEqual(["opt_in_requested", "confirmed"]);
    expect(ledger[0]).toMatchObject({ status: "pending", source: "newsletter-form", proof: "form#footer" });
    expect(ledger[1]).toMatchObject({ status: "opted_in", source: "double-opt-in", actor: "customer", userAgent: expect.stringContaining("Chrome") });
    expect(ledger[1].ip).toBeTruthy();

    // The confirmation email is a message of the system transactional kind: on the timeline and in
    // the message list, with its events.
    const timeline = (await h.api("GET", `/v1/customers/${c.id}/timeline`)).body.data;
    const sent = timeline.find((e: any) => e.kind === "message" && e.topic === "_system.confirmation");
    expect(sent).toMatchObject({ type: "sent", template: "_system.double-opt-in", messageId: expect.any(String) });
    const message = (await h.api("GET", `/v1/messages/${sent.messageId}`)).body;
    expect(message).toMatchObject({ status: "sent", customerId: c.id, topic: "_system.confirmation" });
    expect(message.events.map((e: any) => e.type)).toEqual(expect.arrayContaining(["accepted", "sent"]));
    expect(mail.parsed.messageId).toContain(message.id);
  });

  it("when the confirmation link is tampered with, expired or reused after a withdrawal, then 404 and the consent stays as it was", async () => {
    const { topic, c, link } = await pendingCustomer();
    const tampered = link.slice(0, -3) + (link.endsWith("AAA") ? "BBB" : "AAA");
    expect((await fetch(tampered, { method: "POST" })).status).toBe(404);
    expect((await fetch(tampered)).status).toBe(404);
    const topicRow = await db.topic.findUniqueOrThrow({ where: { key: topic } });
    const expired = signToken({ p: "c", c: c.id, t: topicRow.id, j: rid(), exp: Math.floor(Date.now() / 1000) - 60 });
    expect((await fetch(`${h.baseUrl}/confirm/${expired}`, { method: "POST" })).status).toBe(404);
    expect(await consentOf(c.id, topic)).toBe("pending");

    await h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_out", source: "changed-mind" });
    expect((await fetch(link, { method: "POST" })).status).toBe(404);
    expect(await consentOf(c.id, topic)).toBe("opted_out");
  });

  it("when a confirmation link is used, then using it again confirms nothing new", async () => {
    const { c, link } = await pendingCustomer();
    const form = await hiddenFields(link);
    expect((await postForm(link, form)).status).toBe(200);
    expect((await postForm(link, form)).status).toBe(200);
    expect(await db.consentEvent.count({ where: { customerId: c.id, action: "confirmed" } })).toBe(1);
  });
});

describe("double opt-in, request binding", () => {
  it("when an old link from a superseded request is used, then it confirms nothing; the new request's link does", async () => {
    const { topic, c, link: oldLink } = await pendingCustomer();
    await h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_out", source: "changed-mind" });
    await h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_in", source: "form-again", proof: "form#2" });
    const mails = await sink.waitFor(c.email, 2);
    const newLink = /(http:\/\/127\.0\.0\.1:\d+\/confirm\/[A-Za-z0-9_.-]+)/.exec(mails[1].parsed.text ?? "")![1];
    expect((await fetch(oldLink, { method: "POST" })).status).toBe(404);
    expect(await consentOf(c.id, topic)).toBe("pending");
    expect((await postForm(newLink, await hiddenFields(newLink))).status).toBe(200);
    expect(await consentOf(c.id, topic)).toBe("opted_in");
  });

  it("when the customer asks again while pending, then the confirmation is sent again and the ledger gains nothing", async () => {
    const { topic, c } = await pendingCustomer();
    const again = await h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_in", source: "newsletter-form", proof: "form#footer" });
    expect(again.body.status).toBe("pending");
    await sink.waitFor(c.email, 2);
    expect(await db.consentEvent.count({ where: { customerId: c.id } })).toBe(1);
  });

  it("when the confirmation email hard-bounces (550 5.1.1), then the address is suppressed and it is not tried again; a 554 is given up without suppressing", async () => {
    for (const [code, text, suppressed] of [[550, "5.1.1 <x@example.com>: user unknown", true], [554, "5.7.1 rejected as spam", false]] as const) {
      const topic = rid("doi-b-");
      await h.api("POST", "/v1/topics", { key: topic, name: "Bounce news", kind: "marketing", doubleOptIn: true });
      const c = (await h.api("POST", "/v1/customers", { email: email("bounce") })).body;
      sink.failNext(code, text);
      expect((await h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_in", source: "signup" })).body.status).toBe("pending");
      const hash = (await db.customer.findUniqueOrThrow({ where: { id: c.id } })).emailHash!;
      const isSuppressed = async () => !!(await db.suppression.findUnique({ where: { addressHash: hash } }));
      // Precondition: the confirmation was tried, and refused with the scripted answer.
      const [first] = await sink.waitForAttempts(c.email, 1, 10_000);
      expect(first.code, String(code)).toBe(code);
      if (suppressed) await waitUntil(isSuppressed, "the address to be suppressed", 10_000);
      // Given up, not retried: a retry (the job's backoff starts at 2 s) would be a second attempt.
      await sleep(3500);
      expect(sink.attemptsTo(c.email).map((a) => a.code), String(code)).toEqual([code]);
      expect(await isSuppressed(), String(code)).toBe(suppressed);
      expect(sink.to(c.email), String(code)).toHaveLength(0);
      expect(await consentOf(c.id, topic)).toBe("pending");
      const [m] = (await h.api("GET", `/v1/messages?customerId=${c.id}`)).body.data;
      expect(m, String(code)).toMatchObject({ topic: "_system.confirmation", status: suppressed ? "bounced" : "failed" });
    }
  }, 30_000);
});

