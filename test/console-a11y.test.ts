// axe-core on every console page, at phone (390 px) and desktop (1280 px) widths: no serious or
// critical violation, and no page wider than the phone's screen.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { launchBrowser } from "./support/browser.ts";
import { seriousViolations, signIn } from "./support/console.ts";
import { addTemplateVersion, createPersona, createTemplate, createTopic, setConsent } from "./support/fixtures.ts";
import { ADMIN_KEY, email, rid, startHarness, type Harness } from "./support/harness.ts";

let h: Harness;
let browser: Browser;
let pages: string[] = [];
beforeAll(async () => {
  h = await startHarness({ workers: false });
  browser = await launchBrowser();
  const topic = await createTopic(h);
  const persona = await createPersona(h);
  // A plan value of this file's own: the database is shared with files that create "pro" customers.
  const plan = rid("pro-");
  await h.api("PATCH", `/v1/personas/${persona.key}`, { rule: { attr: "plan", op: "eq", value: plan }, story: "A story." });
  const c = (await h.api("POST", "/v1/customers", { email: email("a11y"), name: "Ada", attributes: { plan } })).body;
  await setConsent(h, c.id, topic.key, "opted_in");
  const t = await createTemplate(h, { variants: [{ persona: persona.key, subject: "Hi {{customer.name}}" }] });
  await addTemplateVersion(h, t.key, { subject: "Hello again {{customer.name}}" });
  pages = [
    "/console", "/console/personas", "/console/personas/new", `/console/personas/${persona.key}`,
    "/console/templates", `/console/templates/${t.key}`, `/console/templates/${t.key}/history`,
    "/console/customers", `/console/customers?q=${encodeURIComponent(c.email)}`, `/console/customers/${c.id}`,
    "/console/topics", "/console/feedback", `/console/suppressions?address=${encodeURIComponent(c.email)}`, "/console/api-keys", "/console/no-such-page",
  ];
});
afterAll(async () => {
  await browser?.close();
  await h.close();
});

async function check(page: Page, path: string, width: number) {
  const violations = await seriousViolations(page);
  expect(violations, `${path} at ${width}px: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow, `${path} at ${width}px is wider than the screen`).toBeLessThanOrEqual(1);
}

describe("console accessibility", () => {
  for (const width of [390, 1280]) {
    it(`when every console page is opened at ${width} px, then axe-core finds no serious or critical violation`, async () => {
      expect(pages.length).toBeGreaterThan(10);
      const context = await browser.newContext({ viewport: { width, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${h.baseUrl}/console/sign-in`);
      await check(page, "/console/sign-in", width);
      await signIn(page, h.baseUrl, ADMIN_KEY);
      for (const path of pages) {
        await page.goto(h.baseUrl + path);
        await check(page, path, width);
      }
      await context.close();
    }, 240_000); // 15 pages, each loaded and checked by axe: minutes on a busy 2-core machine
  }
});
