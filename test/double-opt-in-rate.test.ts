// Confirmation emails share the SMTP transport's rate limit with every other message: a burst of
// double opt-in requests is spread out, not sent at once past the provider's limit.
import type { Job, JobType } from "bullmq";
import { describe, expect, it } from "vitest";
import { waitUntil } from "./support/wait.ts";

// Two messages per second (a slot every 500 ms, bursts of one); set before the modules load config.
Object.assign(process.env, { SMTP_RATE_PER_SECOND: "2" });
const { sink, useHarness, rid } = await import("./support/harness.ts");
const f = await import("./support/fixtures.ts");
const { reserveSends, transportKey } = await import("../src/platform/smtp-rate-limit.ts");
const { redis } = await import("../src/platform/redis.ts");
const { queue, QueueNames } = await import("../src/platform/queues.ts");

const h = useHarness();

/** A customer whose confirmation job holds a rate-limit slot `booked` slots (500 ms each) away. */
async function confirmationWaiting(booked: number) {
  await redis().del(transportKey());
  await reserveSends(booked, 1_000_000);
  const topic = rid("doi-wait-");
  expect((await h.api("POST", "/v1/topics", { key: topic, name: "Waiting news", kind: "marketing", doubleOptIn: true })).status).toBe(201);
  const c = await f.createCustomer(h);
  expect((await h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_in", source: "signup" })).body.status).toBe("pending");
  await confirmationJob(c.id, ["active"]);
  await f.sleep(300); // the job has taken its slot and waits for it
  return { c, topic };
}

/** The confirmation job of this customer once it is in one of `states` (polls). */
async function confirmationJob(customerId: string, states: JobType[]) {
  const q = queue(QueueNames.consentConfirmation);
  let found: Job | undefined;
  await waitUntil(async () => {
    found = (await q.getJobs(states)).find((j) => j.data.customerId === customerId);
    return found !== undefined;
  }, `a ${states.join("|")} confirmation job`, 10_000);
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

  it("when the rate limit has no slot in the whole window, then the confirmation job waits as delayed without using an attempt, and nothing is sent", async () => {
    const key = transportKey();
    // 400 slots at 2 per second: the horizon is 200 s out, past the 150 s window.
    await reserveSends(400, 1_000_000);
    try {
      const topic = rid("doi-full-");
      expect((await h.api("POST", "/v1/topics", { key: topic, name: "Full news", kind: "marketing", doubleOptIn: true })).status).toBe(201);
      const c = await f.createCustomer(h);
      expect((await h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_in", source: "signup" })).body.status).toBe("pending");
      const q = queue(QueueNames.consentConfirmation);
      let delayed: Awaited<ReturnType<typeof q.getJobs>> = [];
      for (let i = 0; i < 100 && delayed.length === 0; i++) {
        delayed = (await q.getJobs(["delayed"])).filter((j) => j.data.customerId === c.id);
        if (delayed.length === 0) await f.sleep(50);
      }
      expect(delayed).toHaveLength(1);
      expect(delayed[0].attemptsMade).toBe(0);
      expect(delayed[0].delay).toBeGreaterThan(40_000); // until the horizon nears the window
      expect(sink.to(c.email)).toHaveLength(0);
      await delayed[0].remove();
    } finally {
      await redis().del(key);
    }
  });

  it("when the customer withdraws while the confirmation waits for its slot, then the job reads the consent again and sends nothing", async () => {
    const key = transportKey();
    try {
      const { c, topic } = await confirmationWaiting(16); // the next slot is about 8 s away (room for a slow PUT)
      // Precondition: the job has taken a slot and waits for it (active, not finished, nothing tried).
      const job = await confirmationJob(c.id, ["active"]);
      expect(await job.getState()).toBe("active");
      expect(sink.attemptsTo(c.email)).toHaveLength(0);
      expect((await h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_out", source: "support" })).body.status).toBe("opted_out");
      await waitUntil(async () => (await job.getState()) === "completed", "the confirmation job to finish", 30_000);
      expect((await queue(QueueNames.consentConfirmation).getJob(job.id!))?.returnvalue).toBe("skipped");
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
      const job = await confirmationJob(c.id, ["active"]);
      expect(sink.attemptsTo(c.email)).toHaveLength(0);
      await sink.waitFor(c.email, 1, 10_000);
      await waitUntil(async () => (await job.getState()) === "completed", "the confirmation job to finish", 5_000);
      expect((await queue(QueueNames.consentConfirmation).getJob(job.id!))?.returnvalue).toBe("sent");
    } finally {
      await redis().del(key);
    }
  }, 20_000);

  it("when the workers shut down while a confirmation waits for its slot, then shutdown is quick, the job is delayed without using an attempt, and the email goes out after restart", async () => {
    const key = transportKey();
    try {
      const { c } = await confirmationWaiting(6); // the next slot is about 3 s away
      const t0 = Date.now();
      await h.stopWorkers();
      expect(Date.now() - t0).toBeLessThan(1500);
      const delayed = (await queue(QueueNames.consentConfirmation).getJobs(["delayed"])).filter((j) => j.data.customerId === c.id);
      expect(delayed).toHaveLength(1);
      expect(delayed[0].attemptsMade).toBe(0);
      h.startWorkers();
      await sink.waitFor(c.email, 1, 15_000);
    } finally {
      await redis().del(key);
      h.startWorkers();
    }
  }, 30_000);
});

