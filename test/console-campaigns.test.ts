// Campaigns and webhooks in the console, in real Chromium against the real engine with its workers
// and an SMTP sink: the wizard creates and schedules a campaign whose page follows it to
// `completed` with the API's per-persona numbers; pause and resume from the page; CSRF on its
// action forms; the webhooks page is for admins only; axe-core on the new pages at 390 and 1280 px.
import "./support/webhook-env.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { launchBrowser } from "./support/browser.ts";
import { createCampaign, customerIn } from "./support/campaigns.ts";
import { cookieHeader, seriousViolations, signIn } from "./support/console.ts";
import { createPersona, createTemplate, createTopic } from "./support/fixtures.ts";
import { ADMIN_KEY, rid, sink, startHarness, type Harness } from "./support/harness.ts";
import { waitUntil } from "./support/wait.ts";

let h: Harness;
let browser: Browser;
beforeAll(async () => {
  h = await startHarness();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function signedIn(key: string = ADMIN_KEY, width = 1280): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  page.setDefaultTimeout(60_000);
  await signIn(page, h.baseUrl, key);
  return page;
}

const postForm = (url: string, cookie: string, form: Record<string, string>) =>
  fetch(url, { method: "POST", redirect: "manual", headers: { cookie, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form) });

/** A campaign scheduled an hour ahead: it stays `scheduled` (pausable) and sends nothing. */
async function laterCampaign() {
  const topic = await createTopic(h, "marketing", "Later");
  const persona = await createPersona(h);
  await customerIn(h, { persona: persona.key, consent: topic.key });
  const tpl = await createTemplate(h);
  const c = await createCampaign(h, { topic: topic.key, template: tpl.key, audience: { personas: [persona.key] }, scheduledAt: new Date(Date.now() + 3_600_000).toISOString() });
  expect((await h.api("POST", `/v1/campaigns/${c.id}/schedule`)).status).toBe(200);
  return { id: c.id, wizard: new URLSearchParams({ started: "1", name: "Later", topic: topic.key, persona: persona.key, template: tpl.key }) };
}

const rowNumbers = (page: Page, persona: string) =>
  page.$$eval(`#persona-stats tr[data-persona="${persona}"] td[data-k]`, (tds) => Object.fromEntries(tds.map((td) => [td.getAttribute("data-k"), Number(td.textContent)])));

describe("console campaigns", { timeout: 240_000 }, () => {
  it("when a marketer creates a campaign for a persona through the wizard and schedules it now, then its page shows progress to completed and per-persona numbers equal to the API's stats", async () => {
    const topic = await createTopic(h, "marketing", "Wizard news");
    const persona = await createPersona(h, { name: "Wizard fans" });
    const other = await createPersona(h, { name: "Others" });
    const yes = [await customerIn(h, { persona: persona.key, consent: topic.key }), await customerIn(h, { persona: persona.key, consent: topic.key })];
    const no = await customerIn(h, { persona: persona.key });
    const outside = await customerIn(h, { persona: other.key, consent: topic.key });
    const tpl = await createTemplate(h, { subject: "Base {{customer.name}}", variants: [{ persona: persona.key, subject: "For fans, {{customer.name}}" }] });

    const page = await signedIn(await h.keyFor("marketer"));
    await page.goto(`${h.baseUrl}/console/campaigns/new`);
    const name = rid("Wizard sale ");
    await page.fill("#w-name", name);
    await page.selectOption("#w-topic", topic.key);
    await Promise.all([page.waitForURL(/step=audience/), page.click("#w-count")]);
    const row = `#audience-personas tr[data-persona="${persona.key}"]`;
    expect(await page.textContent(`${row} .members`)).toBe("3");
    expect(await page.textContent(`${row} .consenting`)).toBe("2");
    await page.check(`#w-p-${persona.key}`);
    await Promise.all([page.waitForURL(/step=content/), page.click("#w-next")]);
    expect(await page.getAttribute('[aria-current="step"]', "aria-current")).toBe("step");
    await page.selectOption("#w-template", tpl.key);
    await Promise.all([page.waitForURL(/template=/), page.click("#w-preview")]);
    expect(await page.textContent(`.preview[data-persona="${persona.key}"] .subject`)).toBe("For fans, Alex Example");
    await Promise.all([page.waitForURL(/step=schedule/), page.click("#w-next")]);
    expect(await page.isChecked("#w-when-now")).toBe(true);
    await Promise.all([page.waitForURL(/step=review/), page.click("#w-next")]);
    expect(await page.textContent("#r-name")).toBe(name);
    expect(await page.textContent("#r-consenting")).toBe("2");
    for (const c of [...yes, no, outside]) expect(sink.to(c.email)).toHaveLength(0);
    await Promise.all([page.waitForURL(/\/console\/campaigns\/[0-9a-f-]{36}$/), page.click("#create-schedule")]);
    const id = page.url().split("/").pop()!;

    // The page polls its progress partial (htmx) until the campaign is final; no reload here.
    await page.waitForFunction(() => document.querySelector("#campaign-status")?.textContent === "completed", undefined, { timeout: 60_000 });
    expect(await page.getAttribute("#progress-text", "data-percent")).toBe("100");
    for (const c of yes) expect(await sink.waitFor(c.email)).toHaveLength(1);
    expect((await sink.waitFor(yes[0].email))[0].parsed.subject).toMatch(/^For fans, /);
    expect(sink.to(outside.email)).toHaveLength(0);

    const api = (await h.api("GET", `/v1/campaigns/${id}/stats`)).body.data as Array<Record<string, number | string>>;
    const mine = api.find((r) => r.persona === persona.key)!;
    expect(mine).toMatchObject({ targeted: 3, sent: 2, suppressed: 1 });
    const shown = await rowNumbers(page, persona.key);
    const keys = ["targeted", "sent", "opened", "clicked", "machineOpened", "machineClicked", "unsubscribed", "complained", "bounced", "failed", "suppressed"];
    expect(Object.fromEntries(keys.map((k) => [k, shown[k]]))).toEqual(Object.fromEntries(keys.map((k) => [k, mine[k]])));
    expect(shown.handed).toBe(Number(mine.sent) + Number(mine.bounced));
    // The list names it, completed.
    await page.goto(`${h.baseUrl}/console/campaigns`);
    expect(await page.textContent(`#campaign-${id}`)).toContain("completed");
    await page.close();
  });

  it("when a campaign is paused and resumed from its page, then the API sees each state, and an action posted without the CSRF token is refused", async () => {
    const { id } = await laterCampaign();
    const page = await signedIn(await h.keyFor("marketer"));
    // The dashboard lists it among running and scheduled campaigns, with its progress.
    expect(await page.textContent(`#dashboard-campaigns a[href="/console/campaigns/${id}"]`)).toBeTruthy();
    await page.goto(`${h.baseUrl}/console/campaigns/${id}`);
    expect(await page.textContent("#campaign-status")).toBe("scheduled");

    const cookie = await cookieHeader(page);
    const refused = await postForm(`${h.baseUrl}/console/campaigns/${id}/pause`, cookie, {});
    expect(refused.status).toBe(403);
    const wrong = await postForm(`${h.baseUrl}/console/campaigns/${id}/pause`, cookie, { _csrf: "x".repeat(43) });
    expect(wrong.status).toBe(403);
    expect((await h.api("GET", `/v1/campaigns/${id}`)).body.status).toBe("scheduled");

    await Promise.all([page.waitForLoadState("load"), page.click("#pause")]);
    await page.waitForSelector("#resume");
    expect(await page.textContent("#campaign-status")).toBe("paused");
    expect((await h.api("GET", `/v1/campaigns/${id}`)).body.status).toBe("paused");
    await Promise.all([page.waitForLoadState("load"), page.click("#resume")]);
    await page.waitForSelector("#pause");
    expect((await h.api("GET", `/v1/campaigns/${id}`)).body.status).toBe("scheduled");
    await Promise.all([page.waitForLoadState("load"), page.click("#cancel")]);
    await page.waitForFunction(() => document.querySelector("#campaign-status")?.textContent === "canceled");
    expect((await h.api("GET", `/v1/campaigns/${id}`)).body.status).toBe("canceled");
    await page.close();
  });

  it("when a marketer opens the webhooks page, then it is refused and not offered, while an admin sees the endpoints and their delivery log and can replay a delivery", async () => {
    const marketer = await signedIn(await h.keyFor("marketer"));
    expect(await marketer.locator('nav a[href="/console/webhooks"]').count()).toBe(0);
    expect(await marketer.locator('nav a[href="/console/campaigns"]').count()).toBe(1);
    const res = await marketer.goto(`${h.baseUrl}/console/webhooks`);
    expect(res?.status()).toBe(403);
    expect(await marketer.textContent("h1")).toBe("Forbidden");
    await marketer.close();

    // Nothing listens on port 9: the test event's delivery fails and is logged.
    // Subscribed to an event few files cause: the shared database's other traffic stays off this endpoint.
    const w = await h.api("POST", "/v1/webhooks", { url: "http://127.0.0.1:9/hook", events: ["feedback.received"] });
    expect(w.status, w.text).toBe(201);
    expect((await h.api("POST", `/v1/webhooks/${w.body.id}/test`)).status).toBeLessThan(300);
    // The test event's delivery. Other files share the database: their events may add deliveries
    // to this endpoint (retried on their own schedule), so the newest one need not be the test's.
    type Delivery = { id: string; event: string; status: string; attempts: number };
    const deliveries = async () =>
      ((await h.api("GET", `/v1/webhooks/${w.body.id}/deliveries?limit=100`)).body.data as Delivery[]).filter((d) => d.event === "webhook.test");
    // Its round of retries (spaced by 300 ms here) ends `failed`.
    await waitUntil(async () => (await deliveries())[0]?.status === "failed", "the test delivery failed");
    const admin = await signedIn(ADMIN_KEY);
    await admin.goto(`${h.baseUrl}/console/webhooks`);
    expect(await admin.textContent(`#webhook-${w.body.id}`)).toContain("http://127.0.0.1:9/hook");
    await admin.click(`#webhook-${w.body.id} a`);
    await admin.waitForSelector("#deliveries tr[data-status]");
    const [before] = await deliveries();
    expect(before.status).toBe("failed");
    expect(await admin.getAttribute(`#delivery-${before.id}`, "data-status")).toBe("failed");
    await Promise.all([admin.waitForURL(new RegExp(`/console/webhooks/${w.body.id}$`)), admin.click(`#delivery-${before.id} button`)]);
    expect(await admin.textContent("h1")).toBe("Webhook deliveries");
    // The replay sends it again: a fresh round of attempts on the same delivery.
    await waitUntil(async () => (await deliveries())[0].attempts > before.attempts, "the replayed delivery was attempted again");
    expect((await deliveries())[0].id).toBe(before.id);
    await admin.close();
  });

  for (const width of [390, 1280]) {
    it(`when the campaign and webhook pages are opened at ${width} px, then axe-core finds no serious or critical violation and nothing is wider than the screen`, async () => {
      const { id, wizard } = await laterCampaign();
      const hooks = (await h.api("GET", "/v1/webhooks")).body.data as Array<{ id: string }>;
      const pages = [
        "/console", "/console/campaigns", "/console/campaigns/new", ...["content", "schedule", "review"].map((step) => `/console/campaigns/new?${wizard}&step=${step}`),
        `/console/campaigns/${id}`, "/console/webhooks", ...hooks.slice(0, 1).map((x) => `/console/webhooks/${x.id}`),
      ];
      const page = await signedIn(ADMIN_KEY, width);
      for (const step of ["content", "schedule", "review"]) {
        await page.goto(`${h.baseUrl}/console/campaigns/new?${wizard}&step=${step}`);
        expect(await page.textContent("h1")).toBe(`New campaign: ${step}`);
      }
      for (const path of pages) {
        await page.goto(h.baseUrl + path);
        const violations = await seriousViolations(page);
        expect(violations, `${path} at ${width}px: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow, `${path} at ${width}px is wider than the screen`).toBeLessThanOrEqual(1);
      }
      await page.close();
    });
  }
});
