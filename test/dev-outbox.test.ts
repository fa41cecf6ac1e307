import type { Server } from "node:http";
import nodemailer from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/api/app.ts";
import { startDevSmtp, type DevSmtp } from "../src/modules/dev-outbox/dev-smtp.ts";
import { db, rid, startHarness, type Harness } from "./support/harness.ts";
import { sleep } from "./support/wait.ts";

let h: Harness;
let smtp: DevSmtp;
let server: Server;
let base: string;

beforeAll(async () => {
  h = await startHarness({ workers: false });
  smtp = (await startDevSmtp(0))!;
  // Tests run with SMTP_URL set, so the outbox routes are mounted explicitly here.
  server = createApp({ devOutbox: true }).listen(0, "127.0.0.1");
  await new Promise<void>((r) => server.once("listening", () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await smtp.close();
  await h.close();
});

async function send(subject: string, to: string) {
  const t = nodemailer.createTransport({ host: "127.0.0.1", port: smtp.port, secure: false, ignoreTLS: true });
  await t.sendMail({
    from: "Rapport <hello@rapport.localhost>",
    to,
    subject,
    text: "Hello <b>there</b>\nConfirm: https://example.test/confirm/abc?x=1&y=2",
    html: `<p onclick="alert(1)">Hi <script>alert("x")</script><a href="https://example.test/c/1?a=1&amp;b=2">click</a></p>`,
  });
  t.close();
}

async function waitForSubject(subject: string) {
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${base}/dev/outbox`, { headers: { accept: "application/json" } });
    const body = await r.json();
    const hit = body.data.find((m: { subject: string }) => m.subject === subject);
    if (hit) return hit;
    await sleep(50);
  }
  throw new Error(`no outbox message with subject ${subject}`);
}

describe("development outbox", () => {
  it("when a message reaches the embedded SMTP server, then it is listed newest first and viewable escaped, sandboxed and raw", async () => {
    const to = `${rid("dev-")}@example.com`;
    const older = `Older ${rid()}`;
    const subject = `<img src=x onerror=alert(1)> Welcome & "more" ${rid()}`;
    await send(older, to);
    await waitForSubject(older);
    await send(subject, to);
    const hit = await waitForSubject(subject);
    expect(hit).toMatchObject({ to: [to], from: "hello@rapport.localhost", links: { self: `/dev/outbox/${hit.id}`, raw: `/dev/outbox/${hit.id}/raw` } });

    const json = await (await fetch(`${base}/dev/outbox`, { headers: { accept: "application/json" } })).json();
    const subjects = json.data.map((m: { subject: string }) => m.subject);
    expect(subjects.indexOf(subject)).toBeLessThan(subjects.indexOf(older));

    const list = await fetch(`${base}/dev/outbox`);
    expect(list.headers.get("content-type")).toMatch(/text\/html/);
    const listHtml = await list.text();
    expect(listHtml).not.toContain("<img src=x");
    expect(listHtml).toContain("&lt;img src=x onerror=alert(1)&gt; Welcome &amp; &quot;more&quot;");
    expect(listHtml).toContain(`href="/dev/outbox/${hit.id}/raw"`);

    const view = await fetch(`${base}/dev/outbox/${hit.id}`);
    expect(view.status).toBe(200);
    expect(view.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
    const html = await view.text();
    // The email's HTML only exists inside the srcdoc attribute, escaped, of a sandboxed frame.
    expect(html).toMatch(/<iframe sandbox="" [^>]*srcdoc="&lt;p onclick=&quot;alert\(1\)&quot;&gt;Hi &lt;script&gt;/);
    expect(html).not.toContain("<script>");
    expect(html).not.toContain('<p onclick="alert(1)">');
    expect(html).toContain("Hello &lt;b&gt;there&lt;/b&gt;");
    expect(html).toMatch(/<td class="h">Subject<\/td><td>&lt;img src=x/);
    expect(html).toContain('href="https://example.test/c/1?a=1&amp;b=2"');
    expect(html).toContain('href="https://example.test/confirm/abc?x=1&amp;y=2"');

    const detail = await (await fetch(`${base}/dev/outbox/${hit.id}`, { headers: { accept: "application/json" } })).json();
    expect(detail).toMatchObject({ id: hit.id, subject, links: ["https://example.test/c/1?a=1&b=2", "https://example.test/confirm/abc?x=1&y=2"] });

    const raw = await fetch(`${base}/dev/outbox/${hit.id}/raw`);
    expect(raw.headers.get("content-type")).toMatch(/^text\/plain/);
    const rawText = await raw.text();
    expect(rawText).toMatch(/^Content-Type: multipart\/alternative/m);
    expect(rawText).toContain(`To: ${to}`);
  });

  it("when an id is unknown, then 404 problem+json; when the outbox is cleared, then it is empty", async () => {
    const unknown = await fetch(`${base}/dev/outbox/00000000-0000-7000-8000-000000000000`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect((await fetch(`${base}/dev/outbox/nope/raw`)).status).toBe(404);
    const subject = `Bye ${rid()}`;
    await send(subject, `${rid("dev-")}@example.com`);
    await waitForSubject(subject);
    expect((await fetch(`${base}/dev/outbox`, { method: "DELETE" })).status).toBe(204);
    expect(await db.devOutboxMessage.count()).toBe(0);
    expect(await (await fetch(`${base}/dev/outbox`)).text()).toContain("No messages yet.");
  });

  it("when SMTP_URL is set (as in these tests), then the default app does not serve the outbox", async () => {
    expect((await h.api("GET", "/dev/outbox", undefined, { key: null })).status).toBe(404);
    expect((await h.api("DELETE", "/dev/outbox", undefined, { key: null })).status).toBe(404);
  });
});
