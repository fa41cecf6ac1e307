// The shared SMTP rate limit (Redis GCRA) at a high rate: every reservation moves the horizon by
// exactly its slots, even when a slot is a hundredth of a millisecond.
import { afterAll, describe, expect, it } from "vitest";

Object.assign(process.env, { SMTP_RATE_PER_SECOND: "100000" });
const { reserveSends, transportKey } = await import("../src/platform/smtp-rate-limit.ts");
const { redis, closeRedis } = await import("../src/platform/redis.ts");

afterAll(() => closeRedis());

describe("smtp rate limit", () => {
  it("when 100,000 messages per second are allowed, then 2,000 single reservations move the horizon by 20 ms", async () => {
    const key = transportKey();
    await redis().del(key);
    // Ten seconds of slots first, so the horizon stays ahead of the clock while the single ones book
    // (on a busy machine 2,000 round trips take over a second).
    expect((await reserveSends(1_000_000, 60_000)).granted).toBe(1_000_000);
    const start = Number(await redis().get(key));
    for (let i = 0; i < 2000; i++) await reserveSends(1, 60_000);
    const moved = Number(await redis().get(key)) - start;
    expect(moved).toBeGreaterThan(19.9);
    expect(moved).toBeLessThan(20.1);
    await redis().del(key);
  });
});
