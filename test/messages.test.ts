import { describe, expect, it } from "vitest";
import { rid, sink, useHarness } from "./support/harness.ts";
import {
  addTemplateVersion, createCustomer, createPersona, createTemplate, createTopic, setConsent, sleep, suppressAddress, waitForStatus,
} from "./support/fixtures.ts";

const h = useHarness();

const send = (body: object, opts: { key?: string | null; idem?: string } = {}) =>
  h.api("POST", "/v1/messages", body, { key: opts.key, headers: opts.idem ? { "idempotency-key": opts.idem } : {} });

describe("messages: acceptance and delivery", () => {
  it("when a consenting customer is sent a marketing message, then exactly one email arrives with the persona variant and the list headers", async () => {
    const topic = await createTopic(h, "marketing", "Product news");
    const persona = await createPersona(h);
    const tpl = await createTemplate(h, {
      subject: "Default subject",
      html: "<p>Default body for {{customer.name}}</p>",
      variants: [{ persona: persona.key, subject: "Hi {{persona.name}} fan", html: "<p>Variant body {{data.note}}</p>" }],
    });
    const c = await createCustomer(h, { persona: persona.key, name: "Grace" });
    await setConsent(h, c.id, topic.key, "opted_in");
    const dev = await h.keyFor("developer");

    const r = await send({ to: { customerId: c.id }, template: tpl.key, topic: topic.key, data: { note: "n-1" } }, { key: dev });
    expect(r.status, r.text).toBe(202);
    expect(r.body).toMatchObject({ status: "queued", customerId: c.id, template: tpl.key, version: 1, persona: persona.key, topic: topic.key });

    const [mail] = await sink.waitFor(c.email);
    const m = await waitForStatus(h, r.body.id, ["sent"]);
    await sleep(300);
    expect(sink.to(c.email)).toHaveLength(1);
    expect(mail.parsed.subject).toBe(`Hi Persona ${persona.key} fan`);
    expect(mail.parsed.html).toContain("Variant body n-1");
    expect(mail.parsed.text).toContain("Variant body n-1");
    expect(mail.parsed.messageId).toBe(`<${r.body.id}@rapport.localhost>`);
    const headers = mail.parsed.headers;
    const unsub = String(mail.raw.match(/^List-Unsubscribe: <([^>]+)>/m)?.[1]);
    expect(unsub).toMatch(new RegExp(`^${h.baseUrl}/u/`));
    expect(mail.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
    expect(headers.get("message-id")).toBe(`<${r.body.id}@rapport.localhost>`);
    expect(mail.raw).toMatch(new RegExp(`^List-Id: "Product news" <${topic.key}\\.rapport\\.localhost>`, "m"));
    expect(mail.to).toEqual([c.email]);
    expect(m.sentAt).toBeTruthy();
    expect(m.events.map((e: { type: string }) => e.type)).toEqual(["accepted", "sent"]);
    const metrics = await fetch(`${h.baseUrl}/metrics`).then((res) => res.text());
    expect(metrics).toMatch(/rapport_messages_total\{outcome="sent"\} [1-9]/);
  });

  it("when a customer has no consent, an unsubscribed customer or a suppressed address is sent to, then nothing arrives and each message says why", async () => {
    const topic = await createTopic(h, "marketing");
    const tpl = await createTemplate(h);
    const none = await createCustomer(h);
    const out = await createCustomer(h);
    await setConsent(h, out.id, topic.key, "opted_in");
    await setConsent(h, out.id, topic.key, "opted_out");
    const supp = await createCustomer(h);
    await setConsent(h, supp.id, topic.key, "opted_in");
    await suppressAddress(supp.email);
    const ok = await createCustomer(h);
    await setConsent(h, ok.id, topic.key, "opted_in");

    const results = [];
    for (const c of [none, out, supp]) {
      const r = await send({ to: { customerId: c.id }, template: tpl.key, topic: topic.key });
      expect(r.status, r.text).toBe(202);
      results.push(r.body);
    }
    expect(results.map((m) => [m.status, m.reason])).toEqual([
      ["suppressed", "no_consent"], ["suppressed", "unsubscribed"], ["suppressed", "suppressed_address"],
    ]);
    // A message accepted after them is delivered: the pipeline has run past the suppressed ones.
    const control = await send({ to: { email: ok.email }, template: tpl.key, topic: topic.key });
    await sink.waitFor(ok.email);
    await waitForStatus(h, control.body.id, ["sent"]);
    for (const c of [none, out, supp]) expect(sink.to(c.email)).toHaveLength(0);
    const got = await h.api("GET", `/v1/messages/${results[1].id}`);
    expect(got.body).toMatchObject({ status: "suppressed", reason: "unsubscribed" });
    expect(got.body.events).toEqual([expect.objectContaining({ type: "suppressed", detail: "unsubscribed" })]);
  });

  it("when a transactional message goes to a customer without consent, then it is delivered without list-unsubscribe headers; a suppressed address still blocks it", async () => {
    const topic = await createTopic(h, "transactional", "Receipts");
    const tpl = await createTemplate(h, { subject: "Receipt", html: "<p>Thanks</p>" });
    const c = await createCustomer(h);
    const blocked = await createCustomer(h);
    await suppressAddress(blocked.email, "hard_bounce");
    const a = await send({ to: { customerId: c.id }, template: tpl.key, topic: topic.key });
    const b = await send({ to: { customerId: blocked.id }, template: tpl.key, topic: topic.key });
    expect(a.body.status).toBe("queued");
    expect(b.body).toMatchObject({ status: "suppressed", reason: "suppressed_address" });
    const [mail] = await sink.waitFor(c.email);
    expect(mail.raw).not.toMatch(/^List-Unsubscribe/m);
    expect(mail.raw).toMatch(/^List-Id: "Receipts"/m);
    expect(sink.to(blocked.email)).toHaveLength(0);
  });

  it("when the recipient is given by externalId or by email in another case, then the same customer is found; unknown ones are 404", async () => {
    const topic = await createTopic(h, "transactional");
    const tpl = await createTemplate(h);
    const ext = rid("ext-");
    const r0 = await h.api("POST", "/v1/customers", { email: `x-${rid()}@example.com`, externalId: ext });
    const byExt = await send({ to: { externalId: ext }, template: tpl.key, topic: topic.key });
    expect(byExt.body.customerId).toBe(r0.body.id);
    const byMail = await send({ to: { email: r0.body.email.toUpperCase() }, template: tpl.key, topic: topic.key });
    expect(byMail.body.customerId).toBe(r0.body.id);

    const missing = [
      { to: { customerId: "0190a4b2-0000-7000-8000-000000000000" }, template: tpl.key, topic: topic.key },
      { to: { customerId: "not-a-uuid" }, template: tpl.key, topic: topic.key },
      { to: { externalId: rid("nope-") }, template: tpl.key, topic: topic.key },
      { to: { email: `nobody-${rid()}@example.com` }, template: tpl.key, topic: topic.key },
      { to: { customerId: r0.body.id }, template: rid("nope-"), topic: topic.key },
      { to: { customerId: r0.body.id }, template: tpl.key, version: 9, topic: topic.key },
      { to: { customerId: r0.body.id }, template: tpl.key, topic: rid("nope-") },
    ];
    for (const body of missing) {
      const r = await send(body);
      expect(r.status, JSON.stringify(body)).toBe(404);
      expect(r.headers.get("content-type")).toMatch(/problem\+json/);
    }
  });

  it("when the template gets a new version, then messages pin the version given or the latest at acceptance", async () => {
    const topic = await createTopic(h, "transactional");
    const tpl = await createTemplate(h, { subject: "v1 subject" });
    await addTemplateVersion(h, tpl.key, { subject: "v2 subject" });
    const c = await createCustomer(h);
    const latest = await send({ to: { customerId: c.id }, template: tpl.key, topic: topic.key });
    const pinned = await send({ to: { customerId: c.id }, template: tpl.key, version: 1, topic: topic.key });
    expect([latest.body.version, pinned.body.version]).toEqual([2, 1]);
    await addTemplateVersion(h, tpl.key, { subject: "v3 subject" });
    const mails = await sink.waitFor(c.email, 2);
    expect(mails.map((m) => m.parsed.subject).sort()).toEqual(["v1 subject", "v2 subject"]);
  });

  it("when the body is invalid, then 400 lists the paths; a marketer may read but not send; no key is 401", async () => {
    const bad = await send({ to: { customerId: "x", email: "a@b.c" }, template: "", topic: "Bad Key", extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(["template", "topic"]));
    const marketer = await h.keyFor("marketer");
    const topic = await createTopic(h, "transactional");
    const tpl = await createTemplate(h);
    const c = await createCustomer(h);
    expect((await send({ to: { customerId: c.id }, template: tpl.key, topic: topic.key }, { key: marketer })).status).toBe(403);
    expect((await send({ to: { customerId: c.id }, template: tpl.key, topic: topic.key }, { key: null })).status).toBe(401);
    const ok = await send({ to: { customerId: c.id }, template: tpl.key, topic: topic.key });
    expect((await h.api("GET", `/v1/messages/${ok.body.id}`, undefined, { key: marketer })).status).toBe(200);
    expect((await h.api("GET", "/v1/messages/0190a4b2-0000-7000-8000-000000000000")).status).toBe(404);
    expect((await h.api("GET", "/v1/messages/nope")).status).toBe(404);
  });

  it("when sends in one moment include a version beyond any integer or data with a NUL character, then those are 400 and the others are accepted", async () => {
    const topic = await createTopic(h, "transactional", "Receipts");
    const tpl = await createTemplate(h);
    const c = await createCustomer(h);
    const base = { to: { customerId: c.id }, template: tpl.key, topic: topic.key };
    // Sent together, so the send API writes them as one group.
    const [big, nul, ok] = await Promise.all([
      send({ ...base, version: 3_000_000_000 }), send({ ...base, data: { note: "a\u0000b" } }), send({ ...base, data: { note: "fine" } }),
    ]);
    expect(ok.status, ok.text).toBe(202);
    expect(big.status, big.text).toBe(400);
    expect(JSON.stringify(big.body)).toContain("version");
    expect(nul.status, nul.text).toBe(400);
  });

  it("when an API message's data names a topic to confirm, then it is an ordinary message: judged and fenced by its own topic, and sent", async () => {
    const topic = await createTopic(h, "marketing", "Product news");
    const other = await createTopic(h, "marketing", "Other news");
    const tpl = await createTemplate(h);
    const c = await createCustomer(h);
    await setConsent(h, c.id, topic.key, "opted_in");
    await setConsent(h, c.id, other.key, "opted_in");
    // Field names of the system confirmation messages, in a caller's own data.
    const r = await send({ to: { customerId: c.id }, template: tpl.key, topic: topic.key, data: { confirmTopicId: other.id, since: 1 } });
    expect(r.status, r.text).toBe(202);
    const m = await waitForStatus(h, r.body.id, ["sent", "suppressed", "failed"]);
    expect(m).toMatchObject({ status: "sent", reason: null });
    expect((await sink.waitFor(c.email)).length).toBe(1);
  });
});

describe("messages: idempotency and listing", () => {
  it("when the same Idempotency-Key is sent with the same body, then the same message comes back; with another body, 409", async () => {
    const topic = await createTopic(h, "transactional");
    const tpl = await createTemplate(h);
    const c = await createCustomer(h);
    const key = rid("idem-");
    const body = { to: { customerId: c.id }, template: tpl.key, topic: topic.key, data: { a: 1, b: [1, 2] } };
    const first = await send(body, { idem: key });
    const again = await send({ data: { b: [1, 2], a: 1 }, topic: topic.key, template: tpl.key, to: { customerId: c.id } }, { idem: key });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const other = await send({ ...body, data: { a: 2 } }, { idem: key });
    expect(other.status).toBe(409);
    // Concurrent requests with one key still make one message.
    const key2 = rid("idem-");
    const burst = await Promise.all([1, 2, 3, 4, 5].map(() => send(body, { idem: key2 })));
    expect(new Set(burst.map((r) => r.body.id)).size).toBe(1);
    await sink.waitFor(c.email, 2);
    await sleep(300);
    expect(sink.to(c.email)).toHaveLength(2);
  });

  it("when messages are listed by customer and status, then pages follow newest first", async () => {
    const topic = await createTopic(h, "marketing");
    const tpl = await createTemplate(h);
    const c = await createCustomer(h);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await send({ to: { customerId: c.id }, template: tpl.key, topic: topic.key })).body.id);
    const p1 = await h.api("GET", `/v1/messages?customerId=${c.id}&limit=2`);
    expect(p1.body.data.map((m: { id: string }) => m.id)).toEqual([ids[2], ids[1]]);
    const p2 = await h.api("GET", `/v1/messages?customerId=${c.id}&limit=2&cursor=${p1.body.nextCursor}`);
    expect(p2.body).toMatchObject({ data: [{ id: ids[0], reason: "no_consent" }], nextCursor: null });
    const none = await h.api("GET", `/v1/messages?customerId=${c.id}&status=sent`);
    expect(none.body.data).toEqual([]);
    expect((await h.api("GET", "/v1/messages?status=bogus")).status).toBe(400);
  });
});
