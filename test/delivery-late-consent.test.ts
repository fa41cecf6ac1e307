// Consent is checked again right before the SMTP hand-off, not only when a batch is prepared: a
// customer who withdraws while their claimed message waits for the shared rate limit gets nothing.
import { describe, expect, it } from "vitest";

// One message per second, bursts of one: a batch of six waits several seconds after it was
// prepared, while its rows are `sending`.
Object.assign(process.env, { SMTP_RATE_PER_SECOND: "1", SEND_BATCH_SIZE: "1", SEND_CLAIM_TIMEOUT_MS: "60000" });
const { sink, useHarness, pool } = await import("./support/harness.ts");
const f = await import("./support/fixtures.ts");
const { waitUntil } = await import("./support/wait.ts");

const h = useHarness({ workers: false });

describe("delivery, late consent check", () => {
  it("when consent is withdrawn while a claimed message waits for the rate limit, then it is suppressed and never sent", async () => {
    const topic = await f.createTopic(h, "marketing");
    const { key: template } = await f.createTemplate(h);
    const customers = [];
    for (let i = 0; i < 6; i++) {
      const c = await f.createCustomer(h);
      await f.setConsent(h, c.id, topic.key, "opted_in");
      customers.push(c);
    }
    const ids: string[] = [];
    for (const c of customers) ids.push((await h.api("POST", "/v1/messages", { to: { customerId: c.id }, template, topic: topic.key })).body.id);
    h.startWorkers();

    // Wait until the batch is claimed and prepared (rows `sending`, nothing sent yet), then withdraw.
    const last = customers[5];
    await waitUntil(async () => (await pool.query("SELECT status FROM messages WHERE id = $1", [ids[5]])).rows[0].status === "sending", "the last message to be claimed", 20_000, 20);
    expect(sink.to(last.email)).toHaveLength(0);
    await f.setConsent(h, last.id, topic.key, "opted_out");

    const final = await f.waitForStatus(h, ids[5], ["suppressed", "sent"]);
    expect(final).toMatchObject({ status: "suppressed", reason: "unsubscribed" });
    for (const c of customers.slice(0, 5)) await sink.waitFor(c.email, 1, 20_000);
    await f.sleep(300);
    expect(sink.to(last.email)).toHaveLength(0);
  }, 60_000);
});
