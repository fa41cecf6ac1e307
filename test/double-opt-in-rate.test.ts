// Confirmation emails share the SMTP transport's rate limit with every other message: a burst of
// double opt-in requests is spread out, not sent at once past the provider's limit.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Two messages per second (a slot every 500 ms, bursts of one); set before the modules load config.
Object.assign(process.env, { SMTP_RATE_PER_SECOND: "2" });
const { sink, startHarness, rid } = await import("./support/harness.ts");
const f = await import("./support/fixtures.ts");

let h: Awaited<ReturnType<typeof startHarness>>;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

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
});
