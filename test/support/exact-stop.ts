// The race behind the "exact stop" tests (delivery-exact-withdrawal, delivery-exact-pause): 200
// customers' messages are claimed and handed to a slow SMTP server while each customer stops them
// (opt-out, pause, ...); once a stop answered 200, none of that customer's messages may reach the
// server. The sink records when every message's data arrived.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// A slow server (30 ms a message, 5 connections) and a rate limit that never holds anything back:
// messages are claimed in large batches and wait only for the pool, where consent reads are up to
// a second old. Only the hand-off gate makes the stop exact.
Object.assign(process.env, { SMTP_RATE_PER_SECOND: "5000", SMTP_POOL_SIZE: "5", SEND_BATCH_SIZE: "100", SEND_CLAIM_TIMEOUT_MS: "60000" });
const { sink, startHarness, pool } = await import("./harness.ts");
const f = await import("./fixtures.ts");

const CUSTOMERS = 200;
const PER_CUSTOMER = 2;

export const api = (...a: Parameters<Awaited<ReturnType<typeof startHarness>>["api"]>) => h.api(...a);
let h: Awaited<ReturnType<typeof startHarness>>;
beforeAll(async () => {
  h = await startHarness({ workers: false });
});
afterAll(async () => {
  sink.delayMs = 0;
  await h.close();
});

/** Runs fn over items with at most n at a time. */
async function limit<T, R>(items: T[], n: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }));
  return out;
}

export interface ExactStop {
  /** Names the suite and its cases: "exact withdrawal", "opt out". */
  name: string;
  action: string;
  rounds: number;
  /** The stop for one customer (answered 200 when done). */
  stop(c: { id: string }, topicKey: string): Promise<{ status: number; text: string }>;
  /** The suppression reason the stopped messages end with. */
  reason: string;
}

/** Registers the suite: `rounds` cases of the race, each with its own topic and customers. */
export function exactStopSuite(s: ExactStop): void {
  describe(`delivery, ${s.name}`, () => {
    for (let round = 1; round <= s.rounds; round++) {
      it(`when ${CUSTOMERS} customers ${s.action} while their messages are being handed to a slow server (round ${round}), then nothing reaches the server after each one's 200`, async () => {
        await h.stopWorkers();
        const topic = await f.createTopic(h, "marketing");
        const { key: template } = await f.createTemplate(h);
        const customers = await f.importOptedIn(h, topic.key, CUSTOMERS);
        // Interleaved, so that every customer has messages early and late in the queue.
        const sends = Array.from({ length: CUSTOMERS * PER_CUSTOMER }, (_, i) => customers[i % CUSTOMERS]);
        const ids = await limit(sends, 16, async (c) => {
          const r = await h.api("POST", "/v1/messages", { to: { customerId: c.id }, template, topic: topic.key });
          expect(r.status, r.text).toBe(202);
          return r.body.id as string;
        });

        sink.delayMs = 30;
        h.startWorkers();
        await sink.waitFor(customers[0].email, 1, 20_000).catch(() => undefined);
        expect(sink.received.length, "sending has started").toBeGreaterThan(0);

        // Each customer stops; the moment its 200 arrives is the line nothing may cross.
        const answeredAt = new Map<string, number>();
        const order = [...customers].reverse();
        await limit(order, 8, async (c) => {
          const r = await s.stop(c, topic.key);
          expect(r.status, r.text).toBe(200);
          answeredAt.set(c.email.toLowerCase(), Date.now());
        });

        // Everything settles: sent before the stop, or suppressed after it.
        const until = Date.now() + 60_000;
        let rows: Array<{ status: string; reason: string | null; n: number }> = [];
        for (;;) {
          ({ rows } = await pool.query(
            "SELECT status, reason, count(*)::int AS n FROM messages WHERE id = ANY($1::uuid[]) GROUP BY 1, 2 ORDER BY 1, 2", [ids]));
          if (!rows.some((r) => r.status === "queued" || r.status === "sending") || Date.now() > until) break;
          await f.sleep(100);
        }
        sink.delayMs = 0;
        const byStatus = Object.fromEntries(rows.map((r) => [`${r.status}${r.reason ? `/${r.reason}` : ""}`, r.n]));
        // Preconditions: the stops raced real sending (some went before, some were stopped).
        expect(byStatus.sent ?? 0, JSON.stringify(byStatus)).toBeGreaterThan(0);
        expect(byStatus[`suppressed/${s.reason}`] ?? 0, JSON.stringify(byStatus)).toBeGreaterThan(0);
        expect((byStatus.sent ?? 0) + (byStatus[`suppressed/${s.reason}`] ?? 0), JSON.stringify(byStatus)).toBe(ids.length);

        const late: string[] = [];
        let arrivals = 0;
        for (const c of customers) {
          const line = answeredAt.get(c.email.toLowerCase())!;
          expect(line).toBeGreaterThan(0);
          for (const a of sink.attempts.filter((x) => x.to.some((t) => t.toLowerCase() === c.email.toLowerCase()))) {
            arrivals++;
            if (a.arrivedAt >= line) late.push(`${a.messageId} arrived ${a.arrivedAt - line} ms after the 200`);
          }
        }
        expect(arrivals).toBe(byStatus.sent);
        expect(late).toEqual([]);
      }, 120_000);
    }
  });
}
