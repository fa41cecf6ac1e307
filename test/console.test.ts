// The console's main journeys in real Chromium against the real engine: sign in, personas with a
// rule count, a template with two variants and their previews, a customer's ledger and timeline, sign out.
import "./support/isolate-console.ts";
import { describe, expect, it } from "vitest";
import { consoleSuite } from "./support/console.ts";
import { createPersona, createTopic, setConsent, suppressAddress } from "./support/fixtures.ts";
import { db, email, pool, rid } from "./support/harness.ts";

const suite = consoleSuite();
const signedIn = (key?: string) => suite.signedIn(key);

// Each journey drives Chromium through several pages: minutes on a busy 2-core machine.
describe("console journeys", { timeout: 180_000 }, () => {
  it("when a browser opens the engine's root, then it lands on the console's sign-in page, while a JSON client still gets a 404 problem", async () => {
    const json = await fetch(`${suite.h.baseUrl}/`, { headers: { accept: "application/json" } });
    expect(json.status).toBe(404);
    expect(json.headers.get("content-type")).toMatch(/problem\+json/);
    const page = await suite.browser.newPage();
    await page.goto(`${suite.h.baseUrl}/`);
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
    expect(await page.isVisible("#key")).toBe(true);
    await page.close();
  });

  it("when a marketer creates a persona with a rule, then the editor counts matching customers as they type and the card shows its members", async () => {
    const tier = rid("tier-");
    for (let i = 0; i < 3; i++) await suite.h.api("POST", "/v1/customers", { email: email("pm"), attributes: { tier } });
    await suite.h.api("POST", "/v1/customers", { email: email("pm"), attributes: { tier: `${tier}-other` } });
    const page = await signedIn(await suite.h.keyFor("marketer"));
    await page.goto(`${suite.h.baseUrl}/console/personas/new`);
    const key = rid("loyal-");
    await page.fill("#p-key", key);
    await page.fill("#p-name", "Loyal regulars");
    await page.fill("#p-story", "Buys every month.");
    await page.fill("#p-goals", "save time\nfind quality");
    await page.fill("#r-attr-1", "tier");
    await page.selectOption("#r-op-1", "eq");
    await page.fill("#r-value-1", tier);
    await page.waitForFunction(() => document.querySelector("#match-count")?.getAttribute("data-count") === "3");
    await page.selectOption("#r-neg-1", "not");
    await page.waitForFunction(() => document.querySelector("#match-count")?.getAttribute("data-count") !== "3");
    await page.selectOption("#r-neg-1", "");
    await page.waitForFunction(() => document.querySelector("#match-count")?.getAttribute("data-count") === "3");
    await Promise.all([page.waitForURL(/\/console\/personas$/), page.click("#save-persona")]);
    expect(await page.getAttribute(`#persona-${key} [data-members]`, "data-members")).toBe("3");
    expect(await page.textContent(`#persona-${key}`)).toContain("find quality");
    const saved = (await suite.h.api("GET", `/v1/personas/${key}`)).body;
    expect(saved.rule).toEqual({ attr: "tier", op: "eq", value: tier });
    await page.close();
  });

  it("when a template is written with two persona variants, then a preview per persona shows each variant's subject, and a broken part shows its line and column", async () => {
    const a = await createPersona(suite.h, { name: "Alpha people" });
    const b = await createPersona(suite.h, { name: "Beta people" });
    const page = await signedIn(await suite.h.keyFor("marketer"));
    await page.goto(`${suite.h.baseUrl}/console/templates`);
    const key = rid("welcome-");
    await page.fill("#t-key", key);
    await page.fill("#t-name", "Welcome");
    await page.fill("#t-subject", "Welcome {{customer.name}}");
    await page.fill("#t-html", "<p>Hello {{customer.name}}</p>");
    await Promise.all([page.waitForURL(new RegExp(`/console/templates/${key}$`)), page.click("#create-template")]);

    await page.fill("#e-html", "<p>Hello {{#if customer.name}}</p>");
    await page.waitForSelector("#compile-error");
    expect(await page.textContent("#compile-error")).toMatch(/In html, line 1, column \d+/);
    await page.fill("#e-html", "<p>Hello {{customer.name}}</p>");
    await page.waitForSelector("#check .ok");

    await page.selectOption("#v-persona-1", a.key);
    await page.fill("#v-subject-1", "For alphas, {{customer.name}}");
    await Promise.all([page.waitForURL(new RegExp(`/console/templates/${key}$`)), page.click("#save-version")]);
    await page.selectOption("#v-persona-2", b.key);
    await page.fill("#v-subject-2", "For betas, {{customer.name}}");
    await page.fill("#v-html-2", "<p>Beta body for {{customer.name}}</p>");
    await Promise.all([page.waitForURL(new RegExp(`/console/templates/${key}$`)), page.click("#save-version")]);

    expect(await page.textContent(`[data-persona="${a.key}"] .subject`)).toBe("For alphas, Alex Example");
    expect(await page.textContent(`[data-persona="${b.key}"] .subject`)).toBe("For betas, Alex Example");
    expect(await page.textContent(`[data-persona="none"] .subject`)).toBe("Welcome Alex Example");
    const frame = page.frameLocator(`[data-persona="${b.key}"] iframe`);
    expect(await frame.locator("body").textContent()).toContain("Beta body for Alex Example");
    // The previews are the API's previews.
    const api = (await suite.h.api("POST", `/v1/templates/${key}/preview`, { persona: b.key })).body;
    expect(api.subject).toBe("For betas, Alex Example");
    expect(api.version).toBe(3);

    await page.goto(`${suite.h.baseUrl}/console/templates/${key}/history?a=2&b=3`);
    expect(await page.textContent("#diff ins")).toContain("For betas");
    await page.close();
  }, 180_000);

  it("when a customer is found by email, then the profile shows the persona and why, the ledger with its proof and the timeline", async () => {
    const topic = await createTopic(suite.h);
    const p = await createPersona(suite.h);
    const c = (await suite.h.api("POST", "/v1/customers", { email: email("find"), name: "Grace Hopper", persona: p.key, attributes: { city: "Arlington" } })).body;
    await setConsent(suite.h, c.id, topic.key, "opted_in");
    const page = await signedIn(await suite.h.keyFor("marketer"));
    await page.goto(`${suite.h.baseUrl}/console/customers`);
    await page.fill("#q", c.email.toUpperCase());
    await Promise.all([page.waitForURL(/\/console\/customers\?/), page.click("#search")]);
    await Promise.all([page.waitForURL(new RegExp(`/console/customers/${c.id}$`)), page.click(`#customers a[href="/console/customers/${c.id}"]`)]);
    expect(await page.textContent("h1")).toBe("Grace Hopper");
    expect(await page.textContent("#persona-why")).toContain("assigned explicitly");
    const ledger = await page.textContent("#ledger tbody");
    expect(ledger).toContain(topic.key);
    expect(ledger).toContain("form v1");
    expect(ledger).toContain("opted_in");
    expect(await page.textContent("#timeline-list")).toMatch(new RegExp(`consent opted_in · topic ${topic.key}`));
    expect(await page.textContent("#consents")).toContain("opted_in");
    await page.close();
  });

  it("when messages were sent today, then the dashboard counts them in the chart's numbers and shows the engagement section", async () => {
    const page = await signedIn();
    const before = Number((await page.getAttribute("#total-sent", "data-total"))!);
    const topic = await createTopic(suite.h);
    const c = (await suite.h.api("POST", "/v1/customers", { email: email("dash") })).body;
    const version = (await suite.h.api("POST", "/v1/templates", { key: rid("dash-"), name: "Dash", subject: "S", html: "<p>x</p>" })).body;
    await pool.query(
      `INSERT INTO messages (id, customer_id, topic_id, template_version_id, status, created_at, sent_at, updated_at)
       SELECT gen_random_uuid(), $1, $2, $3, 'sent', now(), now(), now() FROM generate_series(1, 2)`,
      [c.id, topic.id, version.versionId],
    );
    await page.reload();
    expect(Number(await page.getAttribute("#total-sent", "data-total"))).toBe(before + 2);
    const today = new Date().toISOString().slice(0, 10);
    const chart = JSON.parse((await page.textContent("#sent-data"))!);
    expect(chart.days).toHaveLength(30);
    expect(chart.days[29]).toBe(today);
    expect(chart.values[29]).toBeGreaterThanOrEqual(2);
    expect(await page.locator(".uplot").count()).toBe(1);
    expect(await page.isVisible("#engagement")).toBe(true);
    await page.close();
  });

  it("when a persona is moved up, then it comes before the one above it and its rule is tried first", async () => {
    // Two personas of this test at the top (other tests' personas keep their priorities).
    const top = 900_000 + Math.floor(Math.random() * 1000);
    const [first, second] = [rid("pa-"), rid("pb-")].sort();
    for (const key of [first, second]) expect((await suite.h.api("POST", "/v1/personas", { key, name: key, priority: top })).status).toBe(201);
    const page = await signedIn(await suite.h.keyFor("marketer"));
    await page.goto(`${suite.h.baseUrl}/console/personas`);
    const order = async () => (await page.$$eval("li.persona", (els) => els.map((e) => e.id.replace(/^persona-/, "")))).filter((k) => k === first || k === second);
    expect(await order()).toEqual([first, second]);
    await Promise.all([page.waitForURL(/\/console\/personas$/), page.click(`#persona-${second} button[value=up]`)]);
    expect(await order()).toEqual([second, first]);
    const [p1, p2] = await Promise.all([first, second].map(async (k) => (await suite.h.api("GET", `/v1/personas/${k}`)).body.priority));
    expect([p1, p2]).toEqual([top, top + 1]);
    await Promise.all([page.waitForURL(/\/console\/personas$/), page.click(`#persona-${second} button[value=down]`)]);
    expect(await order()).toEqual([first, second]);
    await page.close();
  });

  it("when an address is looked up on the suppressions page, then it says yes or no and lists no address", async () => {
    const suppressed = email("sup");
    await suppressAddress(suppressed, "complaint");
    const page = await signedIn(await suite.h.keyFor("marketer"));
    await page.goto(`${suite.h.baseUrl}/console/suppressions?address=${encodeURIComponent(suppressed)}`);
    expect(await page.textContent("#suppression-result")).toMatch(/Suppressed: yes.*complaint/);
    await page.goto(`${suite.h.baseUrl}/console/suppressions?address=${encodeURIComponent(email("free"))}`);
    expect(await page.textContent("#suppression-result")).toContain("Suppressed: no");
    await page.goto(`${suite.h.baseUrl}/console/suppressions`);
    expect(await page.content()).not.toMatch(/@example\.com/i);
    await page.close();
  });

  it("when the user signs out, then the session is gone and console pages lead back to sign-in", async () => {
    const before = await db.consoleSession.count();
    const page = await signedIn();
    expect(await db.consoleSession.count()).toBe(before + 1);
    await Promise.all([page.waitForURL(/\/console\/sign-in$/), page.click("#sign-out")]);
    expect(await db.consoleSession.count()).toBe(before);
    await page.goto(`${suite.h.baseUrl}/console/personas`);
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
    await page.close();
  });
});
