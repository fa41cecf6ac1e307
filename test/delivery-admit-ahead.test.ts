// The hand-off gate admits the messages due next together, ahead of their pool slot
// (modules/delivery/handoff.ts, admitAhead). One that is then not sent (the consent re-read before
// its hand-off suppressed it) must leave the gate at once: a registration left behind would make
// the customer's next stop wait for its lease (minutes), and then fail.
import { describe, expect, it } from "vitest";

// One connection, a slow server: ten messages take seconds, so the consent re-read (RECHECK_MS)
// happens while the batch's later messages are admitted and still waiting for the pool.
Object.assign(process.env, { SMTP_RATE_PER_SECOND: "5000", SMTP_POOL_SIZE: "1", SEND_BATCH_SIZE: "20", SEND_CLAIM_TIMEOUT_MS: "60000" });
const { sink, useHarness, pool, redis } = await (async () => ({ ...(await import("./support/harness.ts")), redis: (await import("../src/platform/redis.ts")).redis }))();
const f = await import("./support/fixtures.ts");
const { config } = await import("../src/platform/config.ts");
const { waitUntil } = await import("./support/wait.ts");

const h = useHarness({ workers: false });
const runKey = (customerId: string) => `${config.QUEUE_PREFIX}:gate:run:c:${customerId}`;

describe("delivery, admissions ahead of the pool", () => {
  it("when a message admitted ahead is suppressed by the re-read before its hand-off, then it leaves the gate at once and the customer's stop answers promptly", async () => {
    const topic = await f.createTopic(h, "marketing");
    const { key: template } = await f.createTemplate(h);
    const customers = await f.importOptedIn(h, topic.key, 16);
    // Sent together: one delivery job, one batch, handed over one message at a time.
    await Promise.all(customers.map(async (c) => {
      const r = await h.api("POST", "/v1/messages", { to: { customerId: c.id }, template, topic: topic.key });
      expect(r.status, r.text).toBe(202);
    }));

    sink.delayMs = 400;
    try {
      h.startWorkers();
      await sink.waitFor(customers[0].email, 1, 20_000).catch(() => undefined);
      expect(sink.received.length, "sending has started").toBeGreaterThan(0);
      // The messages admitted ahead: registered in flight while they wait for the pool.
      const waiting = customers.filter((c) => sink.to(c.email).length === 0);
      const counts = await Promise.all(waiting.map((c) => redis().zcard(runKey(c.id))));
      const late = waiting.filter((_, i) => counts[i] > 0);
      expect(late.length, "messages admitted ahead").toBeGreaterThanOrEqual(2);
      // A change only the re-read sees (no stop mark): their consent ends in the database.
      await pool.query("UPDATE consents SET status = 'opted_out' WHERE customer_id = ANY($1::uuid[])", [late.map((c) => c.id)]);
      const { rows } = await pool.query("SELECT id, customer_id FROM messages WHERE customer_id = ANY($1::uuid[])", [late.map((c) => c.id)]);
      const lateIds: string[] = rows.map((r) => r.id);
      const final = await Promise.all(lateIds.map((id) => f.waitForStatus(h, id, ["suppressed", "sent"], 30_000)));
      // Precondition: the re-read before their hand-off suppressed some of them (the others went first).
      const suppressed = rows.filter((_, i) => final[i].status === "suppressed").map((r) => r.customer_id as string);
      expect(suppressed.length, JSON.stringify(final.map((x) => x.status))).toBeGreaterThan(0);
      // Given back: no registration left for them (the gate unregisters within its flush interval).
      await waitUntil(async () => (await Promise.all(suppressed.map((c) => redis().zcard(runKey(c))))).every((n) => n === 0), "the suppressed messages to leave the gate", 2_000, 20);
      const t0 = Date.now();
      // A stop of the customer's marketing waits for their hand-offs in flight: none is left.
      const r = await h.api("PUT", `/v1/customers/${suppressed[0]}/cadence`, { pausedUntil: new Date(Date.now() + 86_400_000).toISOString(), source: "test" });
      expect(r.status, r.text).toBe(200);
      expect(Date.now() - t0).toBeLessThan(2_000);
    } finally {
      sink.delayMs = 0;
    }
  }, 60_000);
});
