// Driving the console in Chromium: sign in with a key, run axe-core in the page.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { afterAll, beforeAll, expect } from "vitest";
import type { Browser, Page } from "playwright-core";
import { launchBrowser } from "./browser.ts";
import { ADMIN_KEY, startHarness, type Harness } from "./harness.ts";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export async function signIn(page: Page, baseUrl: string, key: string): Promise<void> {
  await page.goto(`${baseUrl}/console/sign-in`);
  await page.fill("#key", key);
  await Promise.all([page.waitForURL(/\/console\/?$/), page.click("#sign-in")]);
  expect(await page.textContent("h1")).toBe("Dashboard");
}

export interface AxeViolation { id: string; impact: string | null; help: string; nodes: Array<{ target: unknown; html: string }> }

/** axe-core's serious and critical violations on the current page (evaluated through CDP: the page's CSP allows no injected script tags). */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ["violations"], iframes: false });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target, html: n.html.slice(0, 200) })) }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** The session cookie of a signed-in page, as a Cookie header for fetch. */
export async function cookieHeader(page: Page): Promise<string> {
  return (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
}

/** A test file's engine (no workers) and Chromium, started before its tests and closed after them. */
export function consoleSuite() {
  const suite = {
    h: undefined as unknown as Harness,
    browser: undefined as unknown as Browser,
    /** A new page signed in with the key (default: the admin key). */
    async signedIn(key: string = ADMIN_KEY): Promise<Page> {
      const page = await suite.browser.newPage();
      // A template preview's first preparation starts a worker thread: seconds on a loaded machine.
      page.setDefaultTimeout(60_000);
      await signIn(page, suite.h.baseUrl, key);
      return page;
    },
  };
  beforeAll(async () => {
    suite.h = await startHarness({ workers: false });
    suite.browser = await launchBrowser();
  });
  afterAll(async () => {
    await suite.browser?.close();
    await suite.h?.close();
  });
  return suite;
}
