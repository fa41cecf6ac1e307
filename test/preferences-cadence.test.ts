// The preference center in real Chromium (issue 11): from a captured email, a customer changes
// topics, chooses monthly, pauses for 30 days and leaves feedback; the consent state, the ledger and
// the timeline show it. Keyboard-only use works, and axe-core finds no serious or critical violation
// on the preference, unsubscribe and confirm pages at phone and desktop widths.
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { confirmUrl, unsubscribeUrl } from "../src/modules/public-links/public-links.service.ts";
import { useBrowser } from "./support/browser.ts";
import { seriousViolations } from "./support/console.ts";
import { createTemplate } from "./support/fixtures.ts";
import { db, email, rid, sink, useHarness } from "./support/harness.ts";

const h = useHarness();
const browser = useBrowser();

const statusOf = async (id: string) =>
  Object.fromEntries((await h.api("GET", `/v1/customers/${id}/consents`)).body.data.map((c: any) => [c.topic, c.status]));

/** A customer opted in to `a` (not `b`) who received a marketing email on `a`: its preferences link. */
async function customerWithEmail() {
  const [a, b] = [rid("ca-"), rid("cb-")];
  expect((await h.api("POST", "/v1/topics", { key: a, name: `Deals ${a}`, kind: "marketing" })).status).toBe(201);
  expect((await h.api("POST", "/v1/topics", { key: b, name: `Stories ${b}`, description: "Customer stories", kind: "marketing" })).status).toBe(201);
  const c = (await h.api("POST", "/v1/customers", { email: email("cad"), name: "Cleo" })).body;
  await h.api("PUT", `/v1/customers/${c.id}/consents/${a}`, { status: "opted_in", source: "signup" });
  const tpl = await createTemplate(h);
  expect((await h.api("POST", "/v1/messages", { to: { customerId: c.id }, template: tpl.key, topic: a, data: { note: "hi" } })).status).toBe(202);
  const [mail] = await sink.waitFor(c.email);
  const href = /<a href="([^"]+)"[^>]*>Manage your preferences<\/a>/.exec(String(mail.parsed.html))?.[1];
  expect(href, "the email's preferences link").toBeTruthy();
  return { a, b, c, link: href!.replace(/&amp;/g, "&") };
}

const DAY = 86_400_000;

describe("preference center: cadence, pause and feedback", () => {
  it("when a customer opens the preference center from an email, changes topics, chooses monthly, pauses for 30 days and leaves feedback, then consent, ledger and timeline show it", async () => {
    const { a, b, c, link } = await customerWithEmail();
    const page = await browser.newPage();
    await page.goto(link);
    await page.waitForSelector("#save");
    expect(await page.isChecked(`#topic-${a}`)).toBe(true);
    expect(await page.isChecked("#cadence-any")).toBe(true);
    await page.uncheck(`#topic-${a}`);
    await page.check(`#topic-${b}`);
    await page.check("#cadence-monthly");
    await page.selectOption("#pause", "30");
    await page.selectOption("#reason", "too_many");
    await page.fill("#comment", "One a month is plenty, thanks");
    const before = Date.now();
    await page.click("#save");
    await page.waitForSelector("#saved");
    expect(await page.isChecked("#cadence-monthly")).toBe(true);
    expect(await page.textContent("#paused")).toContain(new Date(before + 30 * DAY).toISOString().slice(0, 10));
    await page.close();

    expect(await statusOf(c.id)).toMatchObject({ [a]: "opted_out", [b]: "opted_in" });
    const customer = (await h.api("GET", `/v1/customers/${c.id}`)).body;
    expect(customer.cadence).toBe("monthly");
    const pausedUntil = Date.parse(customer.pausedUntil);
    expect(pausedUntil).toBeGreaterThanOrEqual(before + 30 * DAY - 1000);
    expect(pausedUntil).toBeLessThanOrEqual(Date.now() + 30 * DAY + 1000);

    const ledger = (await h.api("GET", `/v1/customers/${c.id}/consent-events`)).body.data.filter((e: any) => e.source === "preference-center");
    expect(ledger.map((e: any) => [e.topic, e.action])).toEqual([[a, "opted_out"], [b, "opted_in"], [null, "cadence_changed"], [null, "paused"]]);
    expect(ledger[2]).toMatchObject({ value: "monthly", actor: "customer", userAgent: expect.stringContaining("Chrome") });
    expect(Date.parse(ledger[3].value)).toBe(pausedUntil);
    expect((await h.api("GET", `/v1/customers/${c.id}/consent-events/verify`)).body.valid).toBe(true);

    const timeline = (await h.api("GET", `/v1/customers/${c.id}/timeline`)).body.data;
    const kinds = timeline.map((e: any) => `${e.kind}:${e.type}`);
    expect(kinds).toEqual(expect.arrayContaining(["consent:cadence_changed", "consent:paused", "consent:opted_out", "feedback:feedback", "message:sent"]));
    const [fb] = (await h.api("GET", `/v1/feedback?customerId=${c.id}`)).body.data;
    expect(fb).toMatchObject({ source: "preference-center", reason: "too_many", comment: "One a month is plenty, thanks" });
  });

  it("when the preference center is used with the keyboard only, then every control is reached by Tab, shows its focus, and the choices are saved", async () => {
    const { a, b, c, link } = await customerWithEmail();
    const page = await browser.newPage();
    await page.goto(link);
    await page.waitForSelector("#save");
    /**
     * Presses Tab until the element is focused (as a keyboard user would), at most once per focusable
     * element on the page (the page lists every marketing topic, and other test files add topics).
     */
    const tabTo = async (selector: string) => {
      const stops = await page.evaluate(() => document.querySelectorAll("a[href], button, input, select, textarea").length);
      for (let i = 0; i <= stops + 2; i++) {
        if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) {
          const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
          expect(outline, `${selector} shows its focus`).not.toBe("none");
          return;
        }
        await page.keyboard.press("Tab");
      }
      throw new Error(`${selector} is not reachable with Tab`);
    };
    await tabTo(`#topic-${b}`);
    await page.keyboard.press("Space");
    await tabTo("#cadence-any");
    await page.keyboard.press("ArrowDown"); // weekly
    await page.keyboard.press("ArrowDown"); // monthly
    await tabTo("#pause");
    await page.keyboard.press("ArrowDown"); // 7 days
    await page.keyboard.press("ArrowDown"); // 30 days
    await tabTo("#reason");
    await page.keyboard.press("ArrowDown");
    await tabTo("#comment");
    await page.keyboard.type("Typed with the keyboard");
    await tabTo("#save");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#saved");
    await page.close();

    expect(await statusOf(c.id)).toMatchObject({ [a]: "opted_in", [b]: "opted_in" });
    const customer = (await h.api("GET", `/v1/customers/${c.id}`)).body;
    expect(customer.cadence).toBe("monthly");
    expect(Date.parse(customer.pausedUntil)).toBeGreaterThan(Date.now() + 29 * DAY);
    const [fb] = (await h.api("GET", `/v1/feedback?customerId=${c.id}`)).body.data;
    expect(fb).toMatchObject({ reason: "too_many", comment: "Typed with the keyboard" });
  });

  it("when the preference, unsubscribe and confirm pages are checked by axe-core at 390 and 1280 px, then there is no serious or critical violation and nothing is wider than the screen", async () => {
    const { a, c, link } = await customerWithEmail();
    const topicA = await db.topic.findUniqueOrThrow({ where: { key: a } });
    const doi = rid("cd-");
    await h.api("POST", "/v1/topics", { key: doi, name: "Confirmed news", kind: "marketing", doubleOptIn: true });
    expect((await h.api("PUT", `/v1/customers/${c.id}/consents/${doi}`, { status: "opted_in", source: "signup" })).body.status).toBe("pending");
    const pending = await db.consent.findFirstOrThrow({ where: { customerId: c.id, topic: { key: doi } } });
    const pages = {
      preferences: link,
      unsubscribe: unsubscribeUrl(c.id, topicA.id),
      confirm: confirmUrl(c.id, pending.topicId, pending.updatedAt),
    };
    const check = async (page: Page, name: string, width: number) => {
      const violations = await seriousViolations(page);
      expect(violations, `${name} at ${width}px: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `${name} at ${width}px is wider than the screen`).toBeLessThanOrEqual(1);
    };
    for (const width of [390, 1280]) {
      const context = await browser.newContext({ viewport: { width, height: 900 } });
      const page = await context.newPage();
      for (const [name, url] of Object.entries(pages)) {
        await page.goto(url);
        await page.waitForSelector("main h1");
        await check(page, name, width);
      }
      // The saved state of the preference center (its status message and the pause note).
      await page.goto(pages.preferences);
      await page.selectOption("#pause", "7");
      await page.click("#save");
      await page.waitForSelector("#saved");
      await check(page, "preferences (saved, paused)", width);
      await context.close();
    }
  }, 120_000);
});
