// The delivery worker against a real SMTP server: retries, bounces, consent re-checks at send time,
// a worker stopped mid-batch, the sweep, the frequency cap and the shared rate limit.
import { afterEach, describe, expect, it } from "vitest";
import { useIsolatedDatabase } from "./support/env.ts";

// Short backoff, small batches and a low rate so that "mid-batch" is observable; set before the
// application modules load their configuration.
Object.assign(process.env, {
  SEND_RETRY_BASE_MS: "50",
  SEND_RETRY_MAX_MS: "200",
  SEND_BATCH_SIZE: "5",
  SMTP_RATE_PER_SECOND: "50",
  FREQUENCY_CAP_COUNT: "2",
  SEND_CLAIM_TIMEOUT_MS: "1000",
});
// It runs the sweep with claims of seconds: on the shared database it would take over other files' claims.
useIsolatedDatabase("sweep_delivery");
const { sink, useHarness, pool } = await import("./support/harness.ts");
const f = await import("./support/fixtures.ts");
const { sweep } = await import("../src/modules/delivery/sweep.ts");
const { newId } = await import("../src/platform/ids.ts");
const { deliverBatch } = await import("../src/modules/delivery/deliver.service.ts");
const { setWorkersStopping } = await import("../src/platform/worker-state.ts");

const h = useHarness();
// A test that failed while the workers were stopped must not leave them stopped for the next one.
afterEach(() => h.startWorkers());

const send = (to: object, template: string, topic: string) => h.api("POST", "/v1/messages", { to, template, topic });

async function consenting(topicKey: string) {
  const c = await f.createCustomer(h);
  await f.setConsent(h, c.id, topicKey, "opted_in");
  return c;
}

const eventTypes = (m: { events: Array<{ type: string }> }) => m.events.map((e) => e.type);

describe("delivery", () => {
  it("when consent is withdrawn after acceptance but before delivery, then the message is suppressed at send time", async () => {
    const topic = await f.createTopic(h, "marketing");
    const tpl = await f.createTemplate(h);
    const c = await consenting(topic.key);
    await h.stopWorkers();
    const r = await send({ customerId: c.id }, tpl.key, topic.key);
    expect(r.body.status).toBe("queued");
    await f.setConsent(h, c.id, topic.key, "opted_out");
    h.startWorkers();
    const m = await f.waitForStatus(h, r.body.id, ["suppressed", "sent"]);
    expect(m).toMatchObject({ status: "suppressed", reason: "unsubscribed" });
    expect(eventTypes(m)).toEqual(["accepted", "suppressed"]);
    expect(sink.to(c.email)).toHaveLength(0);
  });

  it("when SMTP answers 421 then 451 then 250, then exactly one email is delivered after two recorded attempts", async () => {
    const topic = await f.createTopic(h, "transactional");
    const tpl = await f.createTemplate(h);
    const c = await f.createCustomer(h);
    sink.failNext(421, "4.3.2 Service not available, try later");
    sink.failNext(451, "4.7.1 Greylisted, please retry");
    const r = await send({ customerId: c.id }, tpl.key, topic.key);
    const m = await f.waitForStatus(h, r.body.id, ["sent", "failed", "bounced"]);
    expect(m.status).toBe("sent");
    expect(m.attempts).toBe(3);
    expect(eventTypes(m)).toEqual(["accepted", "attempt_failed", "attempt_failed", "sent"]);
    expect(m.events[1].detail).toMatch(/4\.3\.2/);
    await f.sleep(300);
    const mails = sink.to(c.email);
    expect(mails).toHaveLength(1);
    expect(mails[0].parsed.messageId).toBe(`<${r.body.id}@rapport.localhost>`);
  });

  it("when SMTP answers 552 5.2.2 mailbox full, then it is retried and delivered", async () => {
    const topic = await f.createTopic(h, "transactional");
    const tpl = await f.createTemplate(h);
    const c = await f.createCustomer(h);
    sink.failNext(552, "5.2.2 Mailbox full");
    const r = await send({ customerId: c.id }, tpl.key, topic.key);
    const m = await f.waitForStatus(h, r.body.id, ["sent", "failed", "bounced"]);
    expect(m.status).toBe("sent");
    expect(sink.to(c.email)).toHaveLength(1);
  });

  it("when SMTP answers 550 5.1.1, then the message bounces, the address is suppressed and later messages are suppressed", async () => {
    const topic = await f.createTopic(h, "transactional");
    const tpl = await f.createTemplate(h);
    const c = await f.createCustomer(h);
    sink.failNext(550, `5.1.1 <${c.email}>: Recipient address rejected: User unknown`);
    const r = await send({ customerId: c.id }, tpl.key, topic.key);
    const m = await f.waitForStatus(h, r.body.id, ["sent", "failed", "bounced"]);
    expect(m.status).toBe("bounced");
    expect(m.attempts).toBe(1);
    expect(eventTypes(m)).toEqual(["accepted", "bounced"]);
    expect(m.events[1].detail).toMatch(/5\.1\.1/);
    expect(JSON.stringify(m)).not.toContain(c.email);
    expect(await f.isSuppressed(c.email)).toBe(true);
    expect(sink.to(c.email)).toHaveLength(0);
    const again = await send({ customerId: c.id }, tpl.key, topic.key);
    expect(again.body).toMatchObject({ status: "suppressed", reason: "suppressed_address" });
  });

  it("when SMTP answers another permanent error (554 5.7.1), then the message fails without suppressing the address", async () => {
    const topic = await f.createTopic(h, "transactional");
    const tpl = await f.createTemplate(h);
    const c = await f.createCustomer(h);
    sink.failNext(554, "5.7.1 Message rejected as spam");
    const r = await send({ customerId: c.id }, tpl.key, topic.key);
    const m = await f.waitForStatus(h, r.body.id, ["sent", "failed", "bounced"]);
    expect(m.status).toBe("failed");
    expect(await f.isSuppressed(c.email)).toBe(false);
  });

  it("when the workers stop mid-batch and restart, then every queued message is delivered once and none to a customer who withdrew", async () => {
    const topic = await f.createTopic(h, "marketing");
    const tpl = await f.createTemplate(h);
    const yes = await Promise.all(Array.from({ length: 30 }, () => consenting(topic.key)));
    const never = await Promise.all(Array.from({ length: 5 }, () => f.createCustomer(h)));
    const ids = new Map<string, string>();
    await h.stopWorkers();
    const accepted = await Promise.all([...yes, ...never].map((c) => send({ customerId: c.id }, tpl.key, topic.key)));
    accepted.forEach((r) => ids.set(r.body.customerId, r.body.id));
    const yesMessage = (customerId: string) => ids.get(customerId)!;
    h.startWorkers();

    const delivered = () => yes.filter((c) => sink.to(c.email).length > 0).length;
    const until = Date.now() + 10_000;
    while (delivered() < 3 && Date.now() < until) await f.sleep(10);
    await h.stopWorkers();
    const stopped = delivered();
    expect(stopped).toBeLessThan(30);
    const { rows: sending } = await pool.query("SELECT count(*)::int AS n FROM messages WHERE id = ANY($1::uuid[]) AND status = 'sending'", [[...ids.values()]]);
    expect(sending[0].n).toBe(0);

    // While stopped, five consenting customers whose message is still queued withdraw.
    const yesIds = yes.map((c) => yesMessage(c.id));
    const { rows: queued } = await pool.query("SELECT customer_id FROM messages WHERE id = ANY($1::uuid[]) AND status = 'queued' ORDER BY customer_id", [yesIds]);
    const withdrawn = new Set(queued.slice(0, 5).map((r: { customer_id: string }) => r.customer_id));
    expect(withdrawn.size, "consenting customers whose message was still queued").toBe(5);
    for (const id of withdrawn) await f.setConsent(h, id, topic.key, "opted_out");

    h.startWorkers();
    for (const c of yes) await f.waitForStatus(h, ids.get(c.id)!, ["sent", "suppressed"]);
    await f.sleep(300);
    for (const c of yes) expect(sink.to(c.email), c.id).toHaveLength(withdrawn.has(c.id) ? 0 : 1);
    for (const c of never) expect(sink.attemptsTo(c.email)).toHaveLength(0);
    for (const id of withdrawn) {
      expect(sink.attemptsTo(yes.find((c) => c.id === id)!.email)).toHaveLength(0);
      expect((await h.api("GET", `/v1/messages/${ids.get(id)}`)).body).toMatchObject({ status: "suppressed", reason: "unsubscribed" });
    }
  });

  it("when a worker died holding a claim or a job was lost, then the sweep puts the messages back and they are delivered once", async () => {
    const topic = await f.createTopic(h, "transactional");
    const tpl = await f.createTemplate(h);
    const stuck = await f.createCustomer(h);
    const lost = await f.createCustomer(h);
    const { rows } = await pool.query("SELECT v.id FROM template_versions v JOIN templates t ON t.id = v.template_id WHERE t.key = $1", [tpl.key]);
    const stuckId = newId();
    const lostId = newId();
    await pool.query(
      `INSERT INTO messages (id, customer_id, topic_id, template_version_id, status, claimed_at, created_at, updated_at)
       VALUES ($1, $2, $4, $5, 'sending', now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour'),
              ($3, $6, $4, $5, 'queued', NULL, now() - interval '1 hour', now() - interval '1 hour')`,
      [stuckId, stuck.id, lostId, topic.id, rows[0].id, lost.id],
    );
    const swept = await sweep({ queuedAfterMs: 500 });
    expect(swept.released).toBeGreaterThanOrEqual(1);
    expect(swept.requeued).toBeGreaterThanOrEqual(1);
    const a = await f.waitForStatus(h, stuckId, ["sent"]);
    await f.waitForStatus(h, lostId, ["sent"]);
    expect(eventTypes(a)).toEqual(["attempt_failed", "sent"]);
    expect(sink.to(stuck.email)).toHaveLength(1);
    expect(sink.to(lost.email)).toHaveLength(1);
  });

  it("when a customer reached the marketing frequency cap, then further marketing is suppressed (at acceptance and at send time) and transactional is not", async () => {
    const news = await f.createTopic(h, "marketing");
    const receipts = await f.createTopic(h, "transactional");
    const tpl = await f.createTemplate(h);
    const c = await consenting(news.key);
    const sent = [];
    for (let i = 0; i < 3; i++) sent.push((await send({ customerId: c.id }, tpl.key, news.key)).body);
    expect(sent.map((m) => m.status)).toEqual(["queued", "queued", "suppressed"]);
    expect(sent[2].reason).toBe("frequency_cap");
    const tx = await send({ customerId: c.id }, tpl.key, receipts.key);
    expect(tx.body.status).toBe("queued");
    await sink.waitFor(c.email, 3);

    // At send time: two accepted while under the cap, then a marketing message goes out meanwhile.
    const d = await consenting(news.key);
    await h.stopWorkers();
    const a = await send({ customerId: d.id }, tpl.key, news.key);
    const b = await send({ customerId: d.id }, tpl.key, news.key);
    expect([a.body.status, b.body.status]).toEqual(["queued", "queued"]);
    await pool.query(
      `INSERT INTO messages (id, customer_id, topic_id, template_version_id, status, sent_at, created_at, updated_at)
       SELECT $1, customer_id, topic_id, template_version_id, 'sent', now(), now(), now() FROM messages WHERE id = $2`,
      [newId(), a.body.id],
    );
    h.startWorkers();
    const ma = await f.waitForStatus(h, a.body.id, ["sent", "suppressed"]);
    const mb = await f.waitForStatus(h, b.body.id, ["sent", "suppressed"]);
    // Two jobs race for the last slot under a per-customer lock: exactly one of them gets it.
    expect([ma.status, mb.status].sort()).toEqual(["sent", "suppressed"]);
    expect([ma.reason, mb.reason]).toContain("frequency_cap");
    expect(sink.to(d.email)).toHaveLength(1);
  });

  it("when a message in the same batch is blocked by consent, then it does not use up the customer's frequency cap", async () => {
    const news = await f.createTopic(h, "marketing");
    const offers = await f.createTopic(h, "marketing");
    const tpl = await f.createTemplate(h);
    const c = await consenting(news.key);
    await f.setConsent(h, c.id, offers.key, "opted_in");
    await h.stopWorkers();
    const blocked = (await send({ customerId: c.id }, tpl.key, offers.key)).body;
    const wanted = (await send({ customerId: c.id }, tpl.key, news.key)).body;
    expect([blocked.status, wanted.status]).toEqual(["queued", "queued"]);
    // One marketing message went out meanwhile: the cap (2) leaves room for exactly one more.
    await pool.query(
      `INSERT INTO messages (id, customer_id, topic_id, template_version_id, status, sent_at, created_at, updated_at)
       SELECT $1, customer_id, topic_id, template_version_id, 'sent', now(), now(), now() FROM messages WHERE id = $2`,
      [newId(), wanted.id],
    );
    await f.setConsent(h, c.id, offers.key, "opted_out");
    setWorkersStopping(false); // the workers are stopped; this test runs the batch itself
    const r = await deliverBatch([blocked.id, wanted.id]);
    expect(r).toMatchObject({ claimed: 2, sent: 1, suppressed: 1 });
    expect((await h.api("GET", `/v1/messages/${blocked.id}`)).body).toMatchObject({ status: "suppressed", reason: "unsubscribed" });
    expect((await h.api("GET", `/v1/messages/${wanted.id}`)).body).toMatchObject({ status: "sent" });
    expect(sink.to(c.email)).toHaveLength(1);
  });

  it("when many messages are sent, then the shared rate limit spaces them (50 per second here)", async () => {
    const topic = await f.createTopic(h, "transactional");
    const tpl = await f.createTemplate(h);
    const cs = await Promise.all(Array.from({ length: 40 }, () => f.createCustomer(h)));
    await f.sleep(1100); // let the bucket refill
    await Promise.all(cs.map((c) => send({ customerId: c.id }, tpl.key, topic.key)));
    const times: number[] = [];
    for (const c of cs) times.push((await sink.waitFor(c.email))[0].at);
    times.sort((a, b) => a - b);
    // A slot every 20 ms plus a 100 ms burst (5): any 200 ms window holds at most 10 + 5 of them
    // (+3 for timer jitter), however slow the machine. Without the limit the 40 arrive in one burst.
    const busiest = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 200).length));
    expect(busiest).toBeLessThanOrEqual(18);
    expect(times[39] - times[0]).toBeGreaterThanOrEqual((40 - 5 - 3) * 20);
  });
});
