// Fault suite, real processes: an API and worker processes (src/main.ts) on a private PostgreSQL and
// Redis, delivering into an SMTP sink in this process. A worker is SIGKILLed with thousands of
// messages in flight, the SMTP server misbehaves, and three workers share one queue.
import { describe, expect, it } from "vitest";
import { waitUntil } from "../support/wait.ts";
import { acceptedCopies, idOf, report, seed, sendAll, settled, statusCounts, useEngine, type Audience } from "./support/engine.ts";

// The sizes are 5,000 in flight and 20,000 through 3 workers (FAULT_IN_FLIGHT=5000
// FAULT_MULTI=20000). On two cores shared with other work, deliveries ran at ~10/s end to end, so
// the defaults keep `npm test` within minutes; the cases assert the same at any size.
const IN_FLIGHT = Number(process.env.FAULT_IN_FLIGHT ?? 1000);
const CHAOS = Number(process.env.FAULT_CHAOS ?? 500);
const MULTI = Number(process.env.FAULT_MULTI ?? 1000);

const { sink, e } = await useEngine(2);

describe("faults: processes", () => {
  it(`when a worker is SIGKILLed with ${IN_FLIGHT} messages in flight and restarted, then nothing is lost, duplicates are at most the messages it held, and nobody without consent gets one`, async () => {
    const a: Audience = await seed(e, IN_FLIGHT);
    // Accepted while no worker runs: all of them are in flight when the workers start.
    await Promise.all(e.workers.map((w) => e.terminate(w)));
    const ids = await sendAll(e, a);
    expect(await statusCounts(e, [...ids.values()])).toEqual({ queued: IN_FLIGHT });
    // 5% withdraw while their message waits: the gate before SMTP must stop every one of them.
    const withdrawn = a.customers.slice(0, Math.floor(IN_FLIGHT / 20));
    for (const c of withdrawn) {
      const r = await e.api("PUT", `/v1/customers/${c.id}/consents/${a.topic}`, { status: "opted_out", source: "fault-suite" });
      expect(r.body.status).toBe("opted_out");
    }
    sink.received.length = 0;
    sink.attempts.length = 0;
    const [victim] = await Promise.all([e.startProc("worker"), e.startProc("worker")]);

    // Kill one worker once a fifth went out, while most are still queued or being sent.
    await waitUntil(() => sink.received.length >= IN_FLIGHT / 5, "a fifth to be delivered", 120_000, 20);
    await e.kill(victim);
    const atCrash = await statusCounts(e, [...ids.values()]);
    const deliveredAtCrash = sink.received.length;
    // Precondition: the crash hit messages not yet delivered (claimed by the victim or still queued).
    expect((atCrash.queued ?? 0) + (atCrash.sending ?? 0), "messages not yet delivered at the crash").toBeGreaterThan(0);
    await e.startProc("worker");

    const final = await settled(e, [...ids.values()], 300_000);
    const copies = acceptedCopies(sink);
    const wanted = a.customers.slice(withdrawn.length).map((c) => ids.get(c.id)!);
    const lost = wanted.filter((id) => !copies.has(id)).length;
    const duplicated = [...copies.values()].reduce((n, k) => n + k - 1, 0);
    const withdrawnIds = new Set(withdrawn.map((c) => ids.get(c.id)!));
    const toWithdrawn = sink.attempts.filter((x) => withdrawnIds.has(idOf(x.messageId))).length;
    report("worker SIGKILL", { inFlight: IN_FLIGHT, atCrash, deliveredAtCrash, final, lost, duplicated, toWithdrawn, http5xx: e.serverErrors() });
    expect(final).toEqual({ sent: wanted.length, suppressed: withdrawn.length });
    expect(lost).toBe(0);
    expect(duplicated).toBeLessThanOrEqual(atCrash.sending ?? 0);
    expect(toWithdrawn).toBe(0);
    expect(e.serverErrors()).toEqual({});
  });

  it("when the SMTP server answers 421/451 to 20%, 550 5.1.1 to 5%, drops 5% and stalls on 1%, then every message ends sent, bounced or failed as its answers say, with exactly one accepted copy per sent message", async () => {
    const a = await seed(e, CHAOS);
    sink.received.length = 0;
    sink.attempts.length = 0;
    sink.chaos = { transient: 0.2, hardBounce: 0.05, drop: 0.05, stall: 0.01, stallMs: 2000 };
    let final: Record<string, number>;
    let ids: Map<string, string>;
    try {
      ids = await sendAll(e, a);
      final = await settled(e, [...ids.values()], 180_000);
    } finally {
      sink.chaos = null;
    }
    // What the server said to each message, in order.
    const answers = new Map<string, number[]>();
    for (const x of sink.attempts) answers.set(idOf(x.messageId), [...(answers.get(idOf(x.messageId)) ?? []), x.code]);
    const { rows } = await e.db.query<{ id: string; status: string; attempts: number }>("SELECT id, status, attempts FROM messages WHERE id = ANY($1::uuid[])", [[...ids.values()]]);
    const expected = (codes: number[]) => (codes.includes(250) ? "sent" : codes.includes(550) ? "bounced" : "failed");
    const wrong = rows.filter((m) => m.status !== expected(answers.get(m.id) ?? []));
    const copies = acceptedCopies(sink);
    const notOnce = rows.filter((m) => m.status === "sent" && copies.get(m.id) !== 1);
    const afterVerdict = rows.filter((m) => {
      const codes = answers.get(m.id) ?? [];
      const last = codes.findIndex((c) => c === 250 || c === 550);
      return last >= 0 && last < codes.length - 1;
    });
    const byCode = sink.attempts.reduce<Record<number, number>>((o, x) => ({ ...o, [x.code]: (o[x.code] ?? 0) + 1 }), {});
    report("misbehaving SMTP", { messages: CHAOS, final, attemptsByCode: byCode, wrong: wrong.length, notOnce: notOnce.length, triedAfterVerdict: afterVerdict.length, http5xx: e.serverErrors() });
    // Precondition: the server did misbehave in every way.
    for (const code of [0, 421, 451, 550]) expect(byCode[code] ?? 0, `answers ${code}`).toBeGreaterThan(0);
    expect(final.bounced ?? 0).toBeGreaterThan(0);
    expect(wrong.slice(0, 5).map((m) => ({ ...m, answers: answers.get(m.id) }))).toEqual([]);
    expect(notOnce.map((m) => ({ ...m, copies: copies.get(m.id), answers: sink.attempts.filter((x) => idOf(x.messageId) === m.id) }))).toEqual([]);
    expect(afterVerdict).toEqual([]);
    expect(e.serverErrors()).toEqual({});
  });

  it("when 3 worker processes and 1 API share the queue, then every message is delivered exactly once", async () => {
    await e.startProc("worker"); // a third
    expect(e.workers).toHaveLength(3);
    const a = await seed(e, MULTI);
    sink.received.length = 0;
    sink.attempts.length = 0;
    const t0 = Date.now();
    const ids = await sendAll(e, a, a.customers, 48);
    const acceptedMs = Date.now() - t0;
    const final = await settled(e, [...ids.values()], 200_000);
    await waitUntil(() => sink.received.length >= MULTI, "every copy to arrive", 10_000);
    const copies = acceptedCopies(sink);
    const once = [...ids.values()].filter((id) => copies.get(id) === 1).length;
    const duplicated = [...copies.values()].reduce((n, k) => n + k - 1, 0);
    report("3 workers + 1 API", { messages: MULTI, acceptedMs, deliveredMs: Date.now() - t0, final, once, duplicated, http5xx: e.serverErrors() });
    expect(final).toEqual({ sent: MULTI });
    expect(once).toBe(MULTI);
    expect(duplicated).toBe(0);
    expect(e.serverErrors()).toEqual({});
  });
});
