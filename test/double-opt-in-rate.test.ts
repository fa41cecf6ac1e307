// Confirmation emails are messages (src/modules/consent/confirmation-message.ts): they share the SMTP
// transport's rate limit with every other message, so a burst of double opt-in requests is spread
// out, not sent at once past the provider's limit; and they wait for their slot like any message.
import { describe, expect, it } from "vitest";
import { waitUntil } from "./support/wait.ts";

// Two messages per second (a slot every 500 ms, bursts of one); set before the modules load config.
Object.assign(process.env, { SMTP_RATE_PER_SECOND: "2" });
const { sink, useHarness, rid } = await import("./support/harness.ts");
const f = await import("./support/fixtures.ts");
const { reserveSends, transportKey } = await import("../src/platform/smtp-rate-limit.ts");
const { redis } = await import("../src/platform/redis.ts");
const { db } = await import("./support/harness.ts");

const h = useHarness();

/** A customer whose confirmation message holds a rate-limit slot `booked` slots (500 ms each) away. */
async function confirmationWaiting(booked: number) {
  await redis().del(transportKey());
  await reserveSends(booked, 1_000_000);
  const topic = rid("doi-wait-");
  expect((await h.api("POST", "/v1/topics", { key: topic, name: "Waiting news", kind: "marketing", doubleOptIn: true })).status).toBe(201);
  const c = await f.createCustomer(h);
  expect((await h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_in", source: "signup" })).body.status).toBe("pending");
  await confirmationMessage(c.id, (m) => m.status === "sending");
  await f.sleep(300); // the batch has taken its slot and waits for it
  return { c, topic };
}

/** The confirmation message of this customer once `ok` holds for it (polls the database). */
async function confirmationMessage(customerId: string, ok: (m: { status: string; reason: string | null; attempts: number; sendAt: Date | null }) => boolean) {
  let found: Awaited<ReturnType<typeof db.message.findFirst>> = null;
  await waitUntil(async () => {
    found = await db.message.findFirst({ where: { customerId, topic: { key: "_system.confirmation" } } });
    return found !== null && ok(found);
  }, "the confirmation message", 15_000);
  return found!;
}

describe("double opt-in under the SMTP rate limit", () => {
  it("when four customers ask to subscribe at once, then their confirmation emails go out one rate-limit slot apart", async () => {
    const topic = rid("doi-rate-");
    expect((await h.api("POST", "/v1/topics", { key: topic, name: "Rated news", kind: "marketing", doubleOptIn: true })).status).toBe(201);
    const cs = await Promise.all(Array.from({ length: 4 }, () => f.createCustomer(h)));
    const t0 = Date.now();
    const rs = await Promise.all(cs.map((c) => h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_in", source: "signup" })));
    expect(rs.map((r) => r.body.status)).toEqual(["pending", "pending", "pending", "pending"]);
    const times = [];
    for (const c of cs) times.push((await sink.waitFor(c.email, 1, 20_000))[0].at);
    times.sort((a, b) => a - b);
    // Slots 500 ms apart: the i-th email never goes before i slots have passed (the first may be
    // late: connection set-up), so four span well over a second instead of arriving together.
    times.forEach((t, i) => expect(t - t0, `email ${i}`).toBeGreaterThanOrEqual(500 * i - 20));
  }, 30_000);

  it("when the rate limit has no slot in the whole window, then the confirmation message waits, due later, without using an attempt, and nothing is sent", async () => {
    const key = transportKey();
    // 400 slots at 2 per second: the horizon is 200 s out, past the 150 s window.
    await reserveSends(400, 1_000_000);
    try {
      const topic = rid("doi-full-");
      expect((await h.api("POST", "/v1/topics", { key: topic, name: "Full news", kind: "marketing", doubleOptIn: true })).status).toBe(201);
      const c = await f.createCustomer(h);
      expect((await h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_in", source: "signup" })).body.status).toBe("pending");
      // Given back, due later, without an attempt: the horizon is 200 s out.
      const m = await confirmationMessage(c.id, (x) => x.status === "queued" && x.sendAt !== null && x.sendAt.getTime() > Date.now() + 40_000);
      expect(m.attempts).toBe(0);
      expect(sink.attemptsTo(c.email)).toHaveLength(0);
      await db.message.update({ where: { id: m.id }, data: { status: "suppressed", reason: "canceled" } });
    } finally {
      await redis().del(key);
    }
  });

  it("when the customer withdraws while the confirmation waits for its slot, then the pipeline reads the consent again and sends nothing", async () => {
    const key = transportKey();
    try {
      const { c, topic } = await confirmationWaiting(16); // the next slot is about 8 s away (room for a slow PUT)
      // Precondition: the message is claimed and waits for its slot (nothing tried).
      expect((await confirmationMessage(c.id, () => true)).status).toBe("sending");
      expect(sink.attemptsTo(c.email)).toHaveLength(0);
      expect((await h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_out", source: "support" })).body.status).toBe("opted_out");
      const m = await confirmationMessage(c.id, (x) => x.status === "suppressed");
      expect(m.reason).toBe("unsubscribed");
      await f.sleep(300);
      expect(sink.attemptsTo(c.email)).toHaveLength(0);
    } finally {
      await redis().del(key);
    }
  }, 60_000);

  it("when the customer does not withdraw while the confirmation waits for its slot, then it is sent once the slot comes", async () => {
    const key = transportKey();
    try {
      const { c } = await confirmationWaiting(4);
      expect((await confirmationMessage(c.id, () => true)).status).toBe("sending");
      expect(sink.attemptsTo(c.email)).toHaveLength(0);
      await sink.waitFor(c.email, 1, 10_000);
      expect((await confirmationMessage(c.id, (x) => x.status === "sent")).attempts).toBe(1);
    } finally {
      await redis().del(key);
    }
  }, 20_000);

  it("when the workers shut down while a confirmation waits for its slot, then shutdown is quick, the message goes back to queued without using an attempt, and the email goes out after restart", async () => {
    const key = transportKey();
    try {
      const { c } = await confirmationWaiting(6); // the next slot is about 3 s away
      const t0 = Date.now();
      await h.stopWorkers();
      expect(Date.now() - t0).toBeLessThan(1500);
      const back = await confirmationMessage(c.id, () => true);
      expect(back.status).toBe("queued");
      expect(back.attempts).toBe(0);
      h.startWorkers();
      await sink.waitFor(c.email, 1, 15_000);
    } finally {
      await redis().del(key);
      h.startWorkers();
    }
  }, 30_000);
});

