// Console security in real Chromium: CSRF on state changes, roles from the API's route table,
// sessions that end with their key, rate-limited sign-in.
import { describe, expect, it } from "vitest";
import { consoleSuite, cookieHeader } from "./support/console.ts";
import { ADMIN_KEY, db, rid } from "./support/harness.ts";

const suite = consoleSuite();
const signedIn = (key?: string) => suite.signedIn(key);

const postForm = (url: string, cookie: string, form: Record<string, string>) =>
  fetch(url, { method: "POST", redirect: "manual", headers: { cookie, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form) });

describe("console security", () => {
  it("when a form is posted without the session's CSRF token, then it is refused with 403 and nothing is created; with the token it is accepted", async () => {
    const page = await signedIn(ADMIN_KEY);
    await page.goto(`${suite.h.baseUrl}/console/topics`);
    const token = await page.getAttribute('form[action="/console/topics"] input[name=_csrf]', "value");
    expect(token).toBeTruthy();
    const cookie = await cookieHeader(page);
    const key = rid("csrf-");
    const without = await postForm(`${suite.h.baseUrl}/console/topics`, cookie, { key, name: "No token", kind: "marketing" });
    expect(without.status).toBe(403);
    const wrong = await postForm(`${suite.h.baseUrl}/console/topics`, cookie, { key, name: "Wrong token", kind: "marketing", _csrf: `${token}x` });
    expect(wrong.status).toBe(403);
    expect(await db.topic.count({ where: { key } })).toBe(0);
    const withToken = await postForm(`${suite.h.baseUrl}/console/topics`, cookie, { key, name: "With token", kind: "marketing", _csrf: token! });
    expect(withToken.status).toBe(303);
    expect(await db.topic.count({ where: { key } })).toBe(1);
    // htmx requests carry it as a header (from the body's hx-headers).
    expect(await page.getAttribute("body", "hx-headers")).toBe(JSON.stringify({ "X-CSRF-Token": token }));
    await page.close();
  });

  it("when a marketer signs in, then the API-keys page is refused (403) and not offered, while an admin sees it; a developer sees no personas", async () => {
    const marketer = await signedIn(await suite.h.keyFor("marketer"));
    expect(await marketer.isVisible('nav a[href="/console/personas"]')).toBe(true);
    expect(await marketer.locator('nav a[href="/console/api-keys"]').count()).toBe(0);
    const res = await marketer.goto(`${suite.h.baseUrl}/console/api-keys`);
    expect(res?.status()).toBe(403);
    expect(await marketer.textContent("h1")).toBe("Forbidden");
    const post = await postForm(`${suite.h.baseUrl}/console/api-keys`, await cookieHeader(marketer), { name: "sneaky", role: "admin" });
    expect(post.status).toBe(403);
    await marketer.close();

    const developer = await signedIn(await suite.h.keyFor("developer"));
    expect((await developer.goto(`${suite.h.baseUrl}/console/personas`))?.status()).toBe(403);
    expect((await developer.goto(`${suite.h.baseUrl}/console/templates`))?.status()).toBe(200);
    await developer.close();

    const admin = await signedIn(ADMIN_KEY);
    expect((await admin.goto(`${suite.h.baseUrl}/console/api-keys`))?.status()).toBe(200);
    await admin.fill("#k-name", rid("made-in-console-"));
    await admin.selectOption("#k-role", "developer");
    await admin.click("#create-key");
    await admin.waitForSelector("#new-key");
    const shown = await admin.inputValue("#new-key");
    expect((await suite.h.api("GET", "/v1/templates", undefined, { key: shown })).status).toBe(200);
    await admin.close();
  }, 180_000); // three sign-ins in Chromium

  it("when the key behind a session is revoked, then the session ends at the next request", async () => {
    const created = (await suite.h.api("POST", "/v1/api-keys", { name: rid("rev-"), role: "marketer" })).body;
    const page = await signedIn(created.key);
    expect((await page.goto(`${suite.h.baseUrl}/console/customers`))?.status()).toBe(200);
    expect((await suite.h.api("DELETE", `/v1/api-keys/${created.id}`)).status).toBe(204);
    await page.goto(`${suite.h.baseUrl}/console/customers`);
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
    await page.close();
  });

  it("when the session cookie is set, then it is HttpOnly, SameSite=Strict and scoped to /console, and the database holds only its hash", async () => {
    const page = await signedIn(ADMIN_KEY);
    const c = (await page.context().cookies()).find((x) => x.name === "rapport_console")!;
    expect(c).toBeDefined();
    expect([c.httpOnly, c.sameSite, c.path]).toEqual([true, "Strict", "/console"]);
    expect(await db.consoleSession.count({ where: { idHash: c.value } })).toBe(0);
    await page.close();
  });

  it("when sign-in fails 10 times within a minute from one address, then further attempts, even with a valid key, are refused with 429", async () => {
    // Plain HTTP (no browser), so that the attempts fit well within the minute on a busy machine.
    const attempt = async (key: string) => {
      const form = await fetch(`${suite.h.baseUrl}/console/sign-in`);
      const cookie = form.headers.getSetCookie()[0].split(";")[0];
      const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1];
      return (await postForm(`${suite.h.baseUrl}/console/sign-in`, cookie, { key, _csrf: token })).status;
    };
    const started = Date.now();
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push(await attempt(`rpk_wrong${i}`));
    const valid = await attempt(ADMIN_KEY);
    expect(Date.now() - started, "the attempts took longer than the limiter's window").toBeLessThan(60_000);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual([429, 429]);
    expect(valid).toBe(429);
  });
});
