// The hand-off to SMTP under pressure: the shared rate limit paces messages one by one (no burst of a
// whole batch), a batch without room gives its slots back, a claim grown old while waiting for a slow
// server is released instead of used, and an outcome only applies to the claim it was made under.
import { describe, expect, it } from "vitest";
import { useIsolatedDatabase } from "./support/env.ts";

// 20 messages per second (a slot every 50 ms, bursts of 100 ms), one SMTP connection, claims that
// expire after 3 s (so a worker stops using a claim after 1.5 s); set before the modules load config.
Object.assign(process.env, { SMTP_RATE_PER_SECOND: "20", SMTP_POOL_SIZE: "1", SEND_BATCH_SIZE: "10", SEND_CLAIM_TIMEOUT_MS: "3000" });
// It runs the sweep with claims of seconds: on the shared database it would take over other files' claims.
useIsolatedDatabase("sweep_pacing");
const { sink, useHarness, pool, rid } = await import("./support/harness.ts");
const f = await import("./support/fixtures.ts");
const { deliverBatch } = await import("../src/modules/delivery/deliver.service.ts");
const { reserveSends, transportKey } = await import("../src/platform/smtp-rate-limit.ts");
const { claimMessages, writeOutcomes } = await import("../src/modules/delivery/delivery.repository.ts");
const { sweep } = await import("../src/modules/delivery/sweep.ts");
const { redis } = await import("../src/platform/redis.ts");

const h = useHarness({ workers: false });

/** Accepts one transactional message to each of n new customers; returns ids and addresses. */
async function accepted(n: number) {
  const topic = await f.createTopic(h, "transactional");
  const tpl = await f.createTemplate(h);
  const cs = await Promise.all(Array.from({ length: n }, () => f.createCustomer(h)));
  const ids: string[] = [];
  for (const c of cs) ids.push((await h.api("POST", "/v1/messages", { to: { customerId: c.id }, template: tpl.key, topic: topic.key })).body.id);
  return { ids, emails: cs.map((c) => c.email) };
}

const resetBucket = () => redis().del(transportKey());

describe("delivery pacing", () => {
  it("when a batch is larger than the burst allowance, then its messages reach SMTP one slot apart, not all at once", async () => {
    const all = await accepted(13);
    // One message first: template compiled and cached, SMTP and database connections open.
    await deliverBatch(all.ids.slice(0, 1));
    const [ids, emails] = [all.ids.slice(1), all.emails.slice(1)];
    await resetBucket();
    const t0 = Date.now();
    const r = await deliverBatch(ids);
    expect(r.sent).toBe(12);
    const times = emails.map((e) => sink.to(e)[0].at).sort((a, b) => a - b);
    // Slot i is due (i + 1) * 50 ms - 100 ms (burst) after the reservation: message i never goes
    // earlier than that (a few ms of clock granularity aside)...
    times.forEach((t, i) => expect(t - t0, `message ${i}`).toBeGreaterThanOrEqual(Math.max(0, (i + 1) * 50 - 100) - 10));
    // ...and they are spread over the slots rather than handed over together once the last slot is
    // due: any seven span six slots (300 ms); timers firing late on a loaded machine may bunch a few,
    // never seven within 100 ms.
    expect(times[11] - t0).toBeGreaterThanOrEqual(490);
    for (let i = 0; i + 6 < times.length; i++) expect(times[i + 6] - times[i], `messages ${i} to ${i + 6}`).toBeGreaterThan(100);
  });

  it("when the rate limit has no room within a claim's lifetime, then the rest of the batch is given slots later and the refused slots stay free", async () => {
    await resetBucket();
    // maxWait 1,000 ms + 100 ms burst at 50 ms per slot: 22 slots now, then nothing.
    const first = await reserveSends(100, 1000);
    expect(first.granted).toBe(22);
    expect([first.dueIn(0), first.dueIn(1), first.dueIn(2), first.dueIn(21)]).toEqual([0, 0, 50, 1000]);
    expect(first.retryIn).toBeGreaterThan(1000);
    const key = transportKey();
    const horizon = await redis().get(key);
    for (let i = 0; i < 5; i++) expect((await reserveSends(100, 1000)).granted).toBe(0);
    // Refused batches did not move the horizon: the next slot is where the first batch left it.
    expect(await redis().get(key)).toBe(horizon);
  });

  it("when SMTP is slow and claims age while messages wait for the connection, then old claims are released, not used, and every message arrives exactly once", async () => {
    await resetBucket();
    sink.delayMs = 300;
    const sweeping = setInterval(() => void sweep().catch(() => undefined), 100);
    try {
      const { ids, emails } = await accepted(10);
      const first = await deliverBatch(ids);
      // One connection at ~300 ms a message: only what could start within 1.5 s of the claim went
      // (each handed-over message then waits behind at most one other: done well before 3 s).
      expect(first.sent).toBeGreaterThan(0);
      expect(first.released).toBeGreaterThan(0);
      expect(first.sent + first.released).toBe(10);
      for (let round = 0; round < 10; round++) {
        const { rows } = await pool.query("SELECT id FROM messages WHERE id = ANY($1::uuid[]) AND status = 'queued'", [ids]);
        if (rows.length === 0) break;
        await deliverBatch(rows.map((r: { id: string }) => r.id));
      }
      await f.sleep(3500); // longer than a claim: the sweep had every chance to hand a row out twice
      for (const e of emails) expect(sink.to(e), e).toHaveLength(1);
      const { rows } = await pool.query("SELECT status, count(*)::int AS n FROM messages WHERE id = ANY($1::uuid[]) GROUP BY status", [ids]);
      expect(rows).toEqual([{ status: "sent", n: 10 }]);
    } finally {
      clearInterval(sweeping);
      sink.delayMs = 0;
    }
  }, 60_000);

  it("when a claim expired and the message was claimed again, then an outcome written under the old claim changes nothing", async () => {
    const { ids } = await accepted(1);
    const [old] = await claimMessages(ids);
    await pool.query("UPDATE messages SET claimed_at = now() - interval '1 hour' WHERE id = $1", [ids[0]]);
    const { rows: before } = await pool.query("SELECT claimed_at::text AS c FROM messages WHERE id = $1", [ids[0]]);
    expect((await sweep()).released).toBeGreaterThanOrEqual(1);
    const [current] = await claimMessages(ids);
    expect(current.claim).not.toBe(before[0].c);
    expect(await writeOutcomes([{ id: old.id, claim: before[0].c, kind: "failed", detail: `stale ${rid()}`, attempted: true }])).toEqual(new Set());
    expect(await writeOutcomes([{ id: old.id, claim: old.claim, kind: "failed", detail: "older", attempted: true }])).toEqual(new Set());
    const { rows } = await pool.query("SELECT status, last_error FROM messages WHERE id = $1", [ids[0]]);
    expect(rows[0]).toEqual({ status: "sending", last_error: null });
    expect(await writeOutcomes([{ id: current.id, claim: current.claim, kind: "sent", attempted: true }])).toEqual(new Set([ids[0]]));
  });
});
