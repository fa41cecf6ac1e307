// Public forms (issue 9, findings 8 and 10): a post made by another site is refused and changes
// nothing, the pages' own forms work in a real browser, RFC 8058 one-click works from anywhere, and
// every public page answers errors as HTML to browsers and as problem+json to JSON clients.
import { createServer, type Server } from "node:http";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csrfField } from "../src/api/csrf.ts";
import { preferencesUrl, unsubscribeUrl } from "../src/modules/public-links/public-links.service.ts";
import { launchBrowser } from "./support/browser.ts";
import { hiddenFields, postForm } from "./support/forms.ts";
import { db, email, rid, sink, startHarness, type Harness } from "./support/harness.ts";

let h: Harness;
let browser: Browser;
let evil: Server;
let evilPage = "";
beforeAll(async () => {
  h = await startHarness();
  browser = await launchBrowser();
  // Another site: serves whatever page the test sets, at http://localhost:<port> (the API is 127.0.0.1).
  evil = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end(evilPage));
  await new Promise<void>((r) => evil.listen(0, "127.0.0.1", () => r()));
});
afterAll(async () => {
  await browser?.close();
  await new Promise((r) => evil?.close(r));
  await h.close();
});

const evilUrl = () => `http://localhost:${(evil.address() as { port: number }).port}/`;

/** A customer opted in to two marketing topics; their preference and unsubscribe links. */
async function subscriber() {
  const topics = [rid("cs-"), rid("cs-")];
  for (const key of topics) expect((await h.api("POST", "/v1/topics", { key, name: `T ${key}`, kind: "marketing" })).status).toBe(201);
  const c = (await h.api("POST", "/v1/customers", { email: email("csrf") })).body;
  for (const key of topics) await h.api("PUT", `/v1/customers/${c.id}/consents/${key}`, { status: "opted_in", source: "signup" });
  const row = await db.customer.findUniqueOrThrow({ where: { id: c.id } });
  const topicId = (await db.topic.findUniqueOrThrow({ where: { key: topics[0] } })).id;
  return { id: c.id as string, topics, prefs: preferencesUrl(c.id, row.emailHash!), unsub: unsubscribeUrl(c.id, topicId) };
}

const statuses = async (id: string) =>
  Object.fromEntries((await h.api("GET", `/v1/customers/${id}/consents`)).body.data.map((x: any) => [x.topic, x.status]));

/** A customer with a pending double opt-in and the link of its confirmation email. */
async function pending() {
  const topic = rid("cdoi-");
  await h.api("POST", "/v1/topics", { key: topic, name: "News", kind: "marketing", doubleOptIn: true });
  const c = (await h.api("POST", "/v1/customers", { email: email("cdoi") })).body;
  await h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_in", source: "form", proof: "p" });
  const [mail] = await sink.waitFor(c.email);
  return { id: c.id as string, topic, link: /(http:\/\/127\.0\.0\.1:\d+\/confirm\/[A-Za-z0-9_.-]+)/.exec(mail.parsed.text ?? "")![1] };
}

/** Opens a page on the other site that auto-submits a form to `action`; returns the status of that post. */
async function crossSitePost(action: string, fields: Record<string, string>): Promise<number> {
  const inputs = Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`).join("");
  evilPage = `<!doctype html><form id="f" method="post" action="${action}">${inputs}</form><script>document.getElementById("f").submit()</script>`;
  const page = await browser.newPage();
  try {
    const posted = page.waitForResponse((r) => r.url() === action && r.request().method() === "POST");
    await page.goto(evilUrl());
    return (await posted).status();
  } finally {
    await page.close();
  }
}

describe("CSRF on public forms", () => {
  it("when another site's page posts the preference form in a browser, then 403 and nothing changes", async () => {
    const s = await subscriber();
    expect(await statuses(s.id)).toEqual({ [s.topics[0]]: "opted_in", [s.topics[1]]: "opted_in" });
    expect(await crossSitePost(s.prefs, { action: "unsubscribe_all" })).toBe(403);
    // Even with a form token taken from the real page, a cross-site post is refused.
    expect(await crossSitePost(s.prefs, { action: "unsubscribe_all", ...(await hiddenFields(s.prefs)) })).toBe(403);
    expect(await statuses(s.id)).toEqual({ [s.topics[0]]: "opted_in", [s.topics[1]]: "opted_in" });
    expect(await db.consentEvent.count({ where: { customerId: s.id, source: "preference-center" } })).toBe(0);
  });

  it("when another site's page posts the confirmation or the unsubscribe page's form, then 403 and nothing changes", async () => {
    const p = await pending();
    expect(await crossSitePost(p.link, {})).toBe(403);
    expect((await statuses(p.id))[p.topic]).toBe("pending");
    const s = await subscriber();
    expect(await crossSitePost(s.unsub, { confirm: "page" })).toBe(403);
    expect((await statuses(s.id))[s.topics[0]]).toBe("opted_in");
  });

  it("when a form has no token, another link's token or an expired one, then 403; with its page's token it is saved", async () => {
    const s = await subscriber();
    const other = await subscriber();
    const expired = /value="([^"]+)"/.exec(csrfField(new URL(s.prefs).pathname.split("/").pop()!, Date.now() - 3 * 3600_000))![1];
    for (const csrf of [undefined, (await hiddenFields(other.prefs)).csrf, expired]) {
      const r = await postForm(s.prefs, { action: "unsubscribe_all", ...(csrf ? { csrf } : {}) });
      expect(r.status).toBe(403);
    }
    expect(await statuses(s.id)).toEqual({ [s.topics[0]]: "opted_in", [s.topics[1]]: "opted_in" });
    const ok = await postForm(s.prefs, { action: "unsubscribe_all", ...(await hiddenFields(s.prefs)) }, { origin: new URL(h.baseUrl).origin, "sec-fetch-site": "same-origin" });
    expect(ok.status).toBe(303);
    expect(await statuses(s.id)).toEqual({ [s.topics[0]]: "opted_out", [s.topics[1]]: "opted_out" });
  });

  it("when the unsubscribe page's button is pressed in a browser, then the customer is unsubscribed", async () => {
    const s = await subscriber();
    const page = await browser.newPage();
    await page.goto(s.unsub);
    expect((await statuses(s.id))[s.topics[0]]).toBe("opted_in");
    await page.click("#unsubscribe");
    await page.waitForSelector("#done");
    await page.close();
    expect((await statuses(s.id))[s.topics[0]]).toBe("opted_out");
  });

  it("when a mail client posts RFC 8058 one-click from anywhere (no cookie, no token, a foreign Origin, or multipart), then it unsubscribes", async () => {
    const s = await subscriber();
    const r = await postForm(s.unsub, { "List-Unsubscribe": "One-Click" }, { origin: "https://mail.example.net", "sec-fetch-site": "cross-site" });
    expect(r.status).toBe(200);
    expect((await statuses(s.id))[s.topics[0]]).toBe("opted_out");
    const m = await subscriber();
    const form = new FormData();
    form.set("List-Unsubscribe", "One-Click");
    expect((await fetch(m.unsub, { method: "POST", body: form })).status).toBe(200);
    expect((await statuses(m.id))[m.topics[0]]).toBe("opted_out");
  });
});

describe("public pages' errors", () => {
  const html = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };
  const json = { accept: "application/json" };

  it("when a public link is invalid, then a browser gets an HTML page and a JSON client problem+json, alike on /u, /confirm and /preferences", async () => {
    for (const path of ["/u/garbage", "/confirm/garbage", "/preferences/garbage"]) {
      for (const method of ["GET", "POST"]) {
        const body = method === "POST" ? "List-Unsubscribe=One-Click" : undefined;
        const ct: Record<string, string> = method === "POST" ? { "content-type": "application/x-www-form-urlencoded" } : {};
        const page = await fetch(h.baseUrl + path, { method, headers: { ...html, ...ct }, body });
        expect(page.status, `${method} ${path}`).toBe(404);
        expect(page.headers.get("content-type"), `${method} ${path}`).toMatch(/^text\/html/);
        expect(await page.text()).toMatch(/<h1>Not found<\/h1>/);
        const problem = await fetch(h.baseUrl + path, { method, headers: { ...json, ...ct }, body });
        expect(problem.status, `${method} ${path}`).toBe(404);
        expect(problem.headers.get("content-type"), `${method} ${path}`).toMatch(/^application\/problem\+json/);
        expect(await problem.json()).toMatchObject({ status: 404, title: "Not found" });
      }
    }
  });

  it("when a public form is refused (400, 403, 415), then the answer is negotiated the same way", async () => {
    const s = await subscriber();
    const cases: Array<[string, string, string, number]> = [
      [s.unsub, "application/x-www-form-urlencoded", "nothing=here", 400],
      [s.prefs, "application/x-www-form-urlencoded", "action=save", 403],
      [s.prefs, "application/json", "{}", 415],
    ];
    for (const [url, type, body, status] of cases) {
      const page = await fetch(url, { method: "POST", headers: { ...html, "content-type": type }, body });
      expect(page.status).toBe(status);
      expect(page.headers.get("content-type")).toMatch(/^text\/html/);
      const problem = await fetch(url, { method: "POST", headers: { ...json, "content-type": type }, body });
      expect(problem.status).toBe(status);
      expect(problem.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    }
    expect(await statuses(s.id)).toEqual({ [s.topics[0]]: "opted_in", [s.topics[1]]: "opted_in" });
  });
});
