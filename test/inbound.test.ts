// Inbound mail end to end: bounces (DSN, JSON, the SMTP listener), complaints (ARF), auto-replies and
// replies against messages really sent through the engine to the SMTP sink, with their effects on
// message status, suppressions, consent, the timeline, webhook events and erasure.
import { readFileSync } from "node:fs";
import nodemailer from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

Object.assign(process.env, { SOFT_BOUNCE_LIMIT: "2", SOFT_BOUNCE_WINDOW_DAYS: "7", WEBHOOK_ALLOW_PRIVATE: "true" });
const { sink, useHarness, pool } = await import("./support/harness.ts");
const f = await import("./support/fixtures.ts");
const { campaignWorld, createCampaign, customerIn, waitCampaign } = await import("./support/campaigns.ts");
const { returnPath } = await import("../src/modules/inbound/return-path.ts");
const { startInboundSmtp } = await import("../src/modules/inbound/smtp-listener.ts");

const h = useHarness();
const FIXTURE_ID = "01938a6e-7b1c-7c3e-9a4f-2b6d8e0f1a2c";
const FIXTURE_VERP = `bounces+${FIXTURE_ID}.0123456789abcdef@rapport.example`;

/** A provider's report (test/fixtures/inbound) rewritten to be about one of this run's messages. */
const report = (file: string, messageId: string, opts: { verp?: string } = {}) =>
  readFileSync(new URL(`./fixtures/inbound/${file}`, import.meta.url), "utf8")
    .replaceAll(FIXTURE_VERP, opts.verp ?? returnPath(messageId))
    .replaceAll(FIXTURE_ID, messageId)
    // Each use is a new report (reports are told apart by their own Message-ID).
    .replace(/^(Message-I[Dd]: <)/m, `$1${messageId.slice(-12)}.`);

const postMime = (raw: string, key?: string) =>
  h.api("POST", "/v1/inbound/mime", undefined, { raw, headers: { "content-type": "message/rfc822" }, ...(key ? { key } : {}) });

let webhookId = "";
beforeAll(async () => {
  const r = await h.api("POST", "/v1/webhooks", { url: "http://127.0.0.1:9/inbound-hook", events: ["message.bounced", "message.complained", "message.replied"] });
  expect(r.status, r.text).toBe(201);
  webhookId = r.body.id;
});
// The database is shared with other files: their events must not keep reaching this endpoint.
afterAll(async () => {
  expect((await h.api("DELETE", `/v1/webhooks/${webhookId}`)).status).toBe(204);
});

/** A customer with a message handed to SMTP (status sent) on a new topic of that kind. */
async function sentMessage(kind: "marketing" | "transactional" = "transactional", customer?: { id: string; email: string }) {
  const topic = await f.createTopic(h, kind);
  const tpl = await f.createTemplate(h);
  const c = customer ?? (await f.createCustomer(h));
  if (kind === "marketing") await f.setConsent(h, c.id, topic.key, "opted_in");
  const r = await h.api("POST", "/v1/messages", { to: { customerId: c.id }, template: tpl.key, topic: topic.key });
  expect(r.status, r.text).toBe(202);
  const m = await f.waitForStatus(h, r.body.id, ["sent", "failed", "bounced", "suppressed"]);
  expect(m.status).toBe("sent");
  return { c, topic, tpl, id: r.body.id as string };
}

const eventTypes = async (id: string) => ((await h.api("GET", `/v1/messages/${id}`)).body.events as Array<{ type: string }>).map((e) => e.type);
const timelineTypes = async (customerId: string) =>
  ((await h.api("GET", `/v1/customers/${customerId}/timeline`)).body.data as Array<{ type: string; messageId: string | null }>).map((e) => `${e.type}:${e.messageId ?? "-"}`);
const hooks = async (type: string, id: string) =>
  (await pool.query("SELECT body FROM webhook_deliveries WHERE webhook_id = $1 AND event_type = $2 AND body LIKE $3", [webhookId, type, `%${id}%`])).rows.map(
    (r: { body: string }) => JSON.parse(r.body),
  );
const ledger = async (customerId: string) => (await h.api("GET", `/v1/customers/${customerId}/consent-events`)).body.data as Array<{ topic: string; action: string; source: string }>;
/** What a report about this customer and message could have written (other files share the database). */
const counts = async (customerId: string, messageId: string) =>
  (
    await pool.query(
      `SELECT (SELECT count(*) FROM inbound_events WHERE customer_id = $1 OR message_id = $2)::int AS inbound,
              (SELECT count(*) FROM suppressions s JOIN customers c ON c.email_hash = s.address_hash AND c.id = $1)::int AS suppressed,
              (SELECT count(*) FROM consent_events WHERE customer_id = $1)::int AS ledger,
              (SELECT count(*) FROM message_events WHERE message_id = $2)::int AS events`,
      [customerId, messageId],
    )
  ).rows[0];

describe("inbound: bounces", () => {
  it("when a message is sent, then its envelope sender is the signed return path naming it", async () => {
    const { c, id } = await sentMessage();
    const mail = sink.to(c.email);
    expect(mail).toHaveLength(1);
    expect(mail[0].from).toBe(returnPath(id));
    expect(mail[0].from).toMatch(new RegExp(`^bounces\\+${id}\\.[0-9a-f]{16}@rapport\\.localhost$`));
  });

  it("when a hard-bounce DSN for a sent message arrives, then it is bounced, the address suppressed, and the next send is suppressed_address", async () => {
    const { c, id, tpl, topic } = await sentMessage();
    const r = await postMime(report("gmail-dsn-hard.eml", id));
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ kind: "dsn", duplicate: false, messageId: id, customerId: c.id, findings: [{ type: "hard_bounce", code: "5.1.1", applied: true, suppressed: true }] });
    const m = (await h.api("GET", `/v1/messages/${id}`)).body;
    expect(m.status).toBe("bounced");
    expect(await eventTypes(id)).toEqual(["accepted", "sent", "bounced"]);
    expect(await f.isSuppressed(c.email)).toBe(true);
    expect(await timelineTypes(c.id)).toContain(`bounced:${id}`);
    expect(await hooks("message.bounced", id)).toMatchObject([{ type: "message.bounced", data: { messageId: id, customerId: c.id, bounceType: "hard", status: "5.1.1" } }]);
    expect(JSON.stringify(await hooks("message.bounced", id))).not.toContain(c.email.split("@")[0]);

    const next = await h.api("POST", "/v1/messages", { to: { customerId: c.id }, template: tpl.key, topic: topic.key });
    expect(next.body).toMatchObject({ status: "suppressed", reason: "suppressed_address" });

    // The same report again changes nothing.
    const again = await postMime(report("gmail-dsn-hard.eml", id));
    expect(again.body).toMatchObject({ duplicate: true, findings: [{ applied: false }] });
    expect(await eventTypes(id)).toEqual(["accepted", "sent", "bounced"]);
    expect(await hooks("message.bounced", id)).toHaveLength(1);
  });

  it("when a JSON hard bounce names a sent message, then it is bounced and the next send is suppressed_address", async () => {
    const { c, id, tpl, topic } = await sentMessage();
    const dev = await h.keyFor("developer");
    const r = await h.api("POST", "/v1/inbound/bounces", { messageId: id, type: "hard", diagnostic: `550 5.1.1 <${c.email}>: user unknown` }, { key: dev });
    expect(r.status, r.text).toBe(200);
    expect(r.body.findings).toEqual([{ type: "hard_bounce", code: "5.1.1", applied: true, suppressed: true }]);
    const m = (await h.api("GET", `/v1/messages/${id}`)).body;
    expect(m.status).toBe("bounced");
    expect(m.events.at(-1)).toMatchObject({ type: "bounced", detail: "550 5.1.1 <[address]>: user unknown" });
    const next = await h.api("POST", "/v1/messages", { to: { customerId: c.id }, template: tpl.key, topic: topic.key });
    expect(next.body).toMatchObject({ status: "suppressed", reason: "suppressed_address" });
    // The request retried: the same report.
    const again = await h.api("POST", "/v1/inbound/bounces", { messageId: id, type: "hard", diagnostic: `550 5.1.1 <${c.email}>: user unknown` }, { key: dev });
    expect(again.body).toMatchObject({ duplicate: true, findings: [{ applied: false }] });
  });

  it("when a JSON hard bounce names an address without a message, then the address is suppressed and the customer's timeline shows it", async () => {
    const c = await f.createCustomer(h);
    const r = await h.api("POST", "/v1/inbound/bounces", { email: c.email, type: "hard" });
    expect(r.body).toMatchObject({ messageId: null, customerId: c.id, findings: [{ type: "hard_bounce", applied: true }] });
    expect(await f.isSuppressed(c.email)).toBe(true);
    expect(await timelineTypes(c.id)).toEqual(["bounced:-"]);
  });

  it("when a DSN saved from an mbox (its From_ line first) is posted, then it is read like any other", async () => {
    const { id } = await sentMessage();
    const r = await postMime(`From MAILER-DAEMON Sun Nov 29 10:14:10 2026\n${report("icloud-dsn-hard.eml", id)}`);
    expect(r.body).toMatchObject({ kind: "dsn", findings: [{ type: "hard_bounce", code: "5.2.1" }] });
    expect((await h.api("GET", `/v1/messages/${id}`)).body.status).toBe("bounced");
  });

  it("when soft bounces reach SOFT_BOUNCE_LIMIT distinct messages within the window, then the address is suppressed (a repeated report counts once)", async () => {
    const first = await sentMessage();
    const soft = await postMime(report("outlook-ndr-soft-quota.eml", first.id));
    expect(soft.body.findings).toEqual([{ type: "soft_bounce", code: "5.2.2", applied: true, suppressed: false }]);
    expect((await postMime(report("outlook-ndr-soft-quota.eml", first.id))).body.duplicate).toBe(true);
    // A different report about the same message (Exim gave up after retrying) still counts one message.
    expect((await postMime(report("exim-dsn-soft-timeout.eml", first.id))).body.findings[0]).toMatchObject({ type: "soft_bounce", suppressed: false });
    expect(await f.isSuppressed(first.c.email)).toBe(false);
    expect((await h.api("GET", `/v1/messages/${first.id}`)).body.status).toBe("sent");
    expect(await eventTypes(first.id)).toEqual(["accepted", "sent", "soft_bounced", "soft_bounced"]);

    const second = await sentMessage("transactional", first.c);
    const r = await postMime(report("gmail-dsn-soft-policy.eml", second.id));
    expect(r.body.findings).toEqual([{ type: "soft_bounce", code: "5.7.1", applied: true, suppressed: true }]);
    expect(await f.isSuppressed(first.c.email)).toBe(true);
    const reason = await pool.query("SELECT reason FROM suppressions WHERE address_hash = (SELECT email_hash FROM customers WHERE id = $1)", [first.c.id]);
    expect(reason.rows[0].reason).toBe("soft_bounce");
  });

  it("when a delayed-delivery DSN arrives, then nothing changes", async () => {
    const { c, id } = await sentMessage();
    const before = await counts(c.id, id);
    const r = await postMime(report("postfix-dsn-delayed.eml", id));
    expect(r.body).toMatchObject({ kind: "dsn", ignored: "no failed recipient (delayed or delivered)", findings: [] });
    expect(await counts(c.id, id)).toEqual(before);
    expect(await eventTypes(id)).toEqual(["accepted", "sent"]);
  });
});

describe("inbound: complaints, auto-replies and replies", () => {
  it("when an ARF complaint arrives, then the customer is opted out of every marketing topic with a complaint ledger row and the address is suppressed", async () => {
    const { c, id, topic } = await sentMessage("marketing");
    const other = await f.createTopic(h, "marketing");
    await f.setConsent(h, c.id, other.key, "opted_in");
    const untouched = await f.createTopic(h, "marketing");
    const r = await postMime(report("yahoo-arf.eml", id));
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ kind: "arf", messageId: id, findings: [{ type: "complaint", code: "abuse", applied: true, suppressed: true }] });
    const consents = (await h.api("GET", `/v1/customers/${c.id}/consents`)).body.data as Array<{ topic: string; status: string }>;
    expect(consents.filter((x) => [topic.key, other.key].includes(x.topic)).map((x) => x.status)).toEqual(["opted_out", "opted_out"]);
    expect(consents.find((x) => x.topic === untouched.key)).toBeUndefined();
    const rows = (await ledger(c.id)).filter((e) => e.source === "complaint");
    expect(rows.map((e) => `${e.topic}:${e.action}`).sort()).toEqual([`${topic.key}:opted_out`, `${other.key}:opted_out`].sort());
    expect(await f.isSuppressed(c.email)).toBe(true);
    expect(await eventTypes(id)).toContain("complained");
    expect((await h.api("GET", `/v1/messages/${id}`)).body.engagement.complained).toBe(1);
    expect(await hooks("message.complained", id)).toMatchObject([{ data: { messageId: id, customerId: c.id, feedbackType: "abuse" } }]);
    expect(await timelineTypes(c.id)).toEqual(expect.arrayContaining([`complained:${id}`, "opted_out:-"]));
    // Reported again (another FBL's copy of the same complaint): no second ledger row.
    await postMime(report("outlook-jmrp-arf.eml", id));
    expect((await ledger(c.id)).filter((e) => e.source === "complaint")).toHaveLength(2);
  });

  it("when a campaign message draws a complaint and another a hard bounce, then the campaign counts one complained and one bounced", async () => {
    const { topic, personas, template } = await campaignWorld(h, 1);
    const a = await customerIn(h, { persona: personas[0], consent: topic.key });
    const b = await customerIn(h, { persona: personas[0], consent: topic.key });
    const k = await createCampaign(h, { name: "Inbound counts", topic: topic.key, template, audience: { personas: personas } });
    expect((await h.api("POST", `/v1/campaigns/${k.id}/schedule`)).status).toBe(200);
    await waitCampaign(h, k.id, (c) => c.counts.sent === 2);
    const ids = (await h.api("GET", `/v1/messages?campaignId=${k.id}`)).body.data as Array<{ id: string; customerId: string }>;
    const byCustomer = new Map(ids.map((m) => [m.customerId, m.id]));
    expect((await postMime(report("outlook-jmrp-arf.eml", byCustomer.get(a.id)!))).status).toBe(200);
    expect((await postMime(report("icloud-dsn-hard.eml", byCustomer.get(b.id)!))).status).toBe(200);
    // The same complaint again (another copy of the report) is not counted twice.
    await postMime(report("headers-only-arf.eml", byCustomer.get(a.id)!));
    const c = (await h.api("GET", `/v1/campaigns/${k.id}`)).body;
    expect(c.counts).toMatchObject({ sent: 1, bounced: 1, complained: 1 });
  });

  it("when an out-of-office reply and an auto-reply arrive, then no consent changes and each is an auto_replied touchpoint", async () => {
    const { c, id } = await sentMessage("marketing");
    const before = await ledger(c.id);
    const ooo = await postMime(report("outlook-automatic-reply.eml", id));
    expect(ooo.body).toMatchObject({ kind: "auto_reply", findings: [{ type: "auto_reply", code: "out_of_office", applied: true }] });
    // The helpdesk answered the return path only (RFC 3834): found by its signed address.
    const auto = await postMime(report("helpdesk-autoresponder.eml", id));
    expect(auto.body).toMatchObject({ kind: "auto_reply", messageId: id, findings: [{ type: "auto_reply", code: "auto_reply" }] });
    expect(await ledger(c.id)).toEqual(before);
    expect((await h.api("GET", `/v1/customers/${c.id}/consents`)).body.data.map((x: { status: string }) => x.status)).toEqual(["opted_in"]);
    expect(await f.isSuppressed(c.email)).toBe(false);
    expect(await eventTypes(id)).toEqual(["accepted", "sent", "auto_replied", "auto_replied"]);
    expect(await hooks("message.replied", id)).toHaveLength(2);
  });

  it("when a customer replies, then the reply shows on the message and the timeline, its text is stored encrypted and erased with the customer", async () => {
    const { c, id } = await sentMessage("marketing");
    const r = await postMime(report("reply-gmail.eml", id));
    expect(r.body).toMatchObject({ kind: "reply", messageId: id, findings: [{ type: "reply", applied: true }] });
    expect(await eventTypes(id)).toContain("reply");
    expect(await timelineTypes(c.id)).toContain(`reply:${id}`);
    const replies = await h.api("GET", `/v1/messages/${id}/replies`);
    expect(replies.body.data).toMatchObject([{ type: "reply", subject: "Re: Your weekly news", text: "Thanks! Could you send the recipe from last week again? I lost it.\n\nAda" }]);
    const stored = await pool.query("SELECT body_enc FROM inbound_events WHERE message_id = $1 AND type = 'reply'", [id]);
    expect(stored.rows[0].body_enc).toBeTruthy();
    expect(stored.rows[0].body_enc).not.toContain("recipe");
    expect(await hooks("message.replied", id)).toMatchObject([{ data: { messageId: id, customerId: c.id, autoReply: false } }]);

    expect((await h.api("DELETE", `/v1/customers/${c.id}`)).status).toBe(204);
    const after = await pool.query("SELECT body_enc, address_hash FROM inbound_events WHERE message_id = $1", [id]);
    expect(after.rows).toEqual([{ body_enc: null, address_hash: null }]);
    expect((await h.api("GET", `/v1/messages/${id}/replies`)).body.data).toMatchObject([{ type: "reply", subject: null, text: null }]);
  });
});

describe("inbound: the SMTP listener", () => {
  let smtp: Awaited<ReturnType<typeof startInboundSmtp>>;
  beforeAll(async () => {
    smtp = await startInboundSmtp(0, "127.0.0.1", "fbl@rapport.localhost");
  });
  afterAll(async () => {
    await smtp.close();
  });
  const transport = () => nodemailer.createTransport({ host: "127.0.0.1", port: smtp.port, secure: false, ignoreTLS: true });

  it("when a DSN is delivered over SMTP to the signed return path, then the message is bounced and the address suppressed", async () => {
    const { c, id } = await sentMessage();
    const t = transport();
    await t.sendMail({ envelope: { from: "mailer-daemon@mx.example.org", to: [returnPath(id)] }, raw: report("postfix-dsn-hard.eml", id) });
    t.close();
    expect((await h.api("GET", `/v1/messages/${id}`)).body.status).toBe("bounced");
    expect(await f.isSuppressed(c.email)).toBe(true);
  });

  it("when a feedback loop sends an ARF report to the report address, then it counts only through the signed return path inside it", async () => {
    const { c, id } = await sentMessage("marketing");
    const forged = await sentMessage("marketing");
    const t = transport();
    // Names its message only by Message-ID: not enough on an unauthenticated address (accepted, dropped).
    const unsigned = report("yahoo-arf.eml", forged.id).replaceAll(returnPath(forged.id), "someone@elsewhere.example");
    await t.sendMail({ envelope: { from: "feedback@arf.mail.yahoo.com", to: ["fbl@rapport.localhost"] }, raw: unsigned });
    await t.sendMail({ envelope: { from: "feedback@arf.mail.yahoo.com", to: ["fbl@rapport.localhost"] }, raw: report("yahoo-arf.eml", id) });
    t.close();
    expect(await f.isSuppressed(c.email)).toBe(true);
    expect((await ledger(c.id)).filter((e) => e.source === "complaint")).toHaveLength(1);
    expect(await f.isSuppressed(forged.c.email)).toBe(false);
    expect((await ledger(forged.c.id)).filter((e) => e.source === "complaint")).toEqual([]);
  });

  it("when a recipient is not a correctly signed return path, then the listener refuses it and nothing changes", async () => {
    const { c, id } = await sentMessage();
    const forged = returnPath(id).replace(/\.[0-9a-f]{16}@/, ".0000000000000000@");
    const t = transport();
    await expect(t.sendMail({ envelope: { from: "x@example.org", to: [forged] }, raw: report("postfix-dsn-hard.eml", id, { verp: forged }) })).rejects.toThrow(/550/);
    t.close();
    expect((await h.api("GET", `/v1/messages/${id}`)).body.status).toBe("sent");
    expect(await f.isSuppressed(c.email)).toBe(false);
  });
});

describe("inbound: bad input", () => {
  it("when the input is invalid, then it is a 400 (or 415/422) problem and nothing changes", async () => {
    const { c, id } = await sentMessage();
    const before = await counts(c.id, id);
    const cases: Array<[Promise<{ status: number; headers: Headers; body: any }>, number]> = [
      [postMime("this is not an email at all"), 400],
      [postMime(""), 400],
      [h.api("POST", "/v1/inbound/bounces", { type: "hard" }), 400],
      [h.api("POST", "/v1/inbound/bounces", { messageId: id, email: c.email, type: "hard" }), 400],
      [h.api("POST", "/v1/inbound/bounces", { messageId: id, type: "bounced" }), 400],
      [h.api("POST", "/v1/inbound/bounces", { messageId: id, type: "hard", extra: 1 }), 400],
      [h.api("POST", "/v1/inbound/bounces", { messageId: "0190a4b2-0000-7000-8000-000000000000", type: "hard" }), 404],
      [h.api("POST", "/v1/inbound/mime", undefined, { raw: "{}", headers: { "content-type": "application/json" } }), 415],
      // A report whose only link to us is a return path with a forged signature.
      [postMime(report("helpdesk-autoresponder.eml", id, { verp: returnPath(id).replace(/\.[0-9a-f]{16}@/, ".ffffffffffffffff@") })), 422],
    ];
    for (const [p, status] of cases) {
      const r = await p;
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(r.headers.get("content-type")).toMatch(/application\/problem\+json/);
    }
    expect(await counts(c.id, id)).toEqual(before);
    expect((await h.api("GET", `/v1/messages/${id}`)).body.status).toBe("sent");
  });

  it("when a marketer posts a report, then it is 403 and nothing changes", async () => {
    const { id } = await sentMessage();
    const marketer = await h.keyFor("marketer");
    expect((await h.api("POST", "/v1/inbound/bounces", { messageId: id, type: "hard" }, { key: marketer })).status).toBe(403);
    expect((await postMime(report("gmail-dsn-hard.eml", id), marketer)).status).toBe(403);
    expect((await h.api("GET", `/v1/messages/${id}`)).body.status).toBe("sent");
  });
});
