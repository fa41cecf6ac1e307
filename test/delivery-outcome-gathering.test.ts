// Outcomes are written in groups (delivery/outcome-writer.ts): a group waits up to its window for
// more, and goes at once when enough wait, so that a crash never finds more than that many
// outcomes unwritten (each one a message SMTP accepted and the sweep would send again).
import { afterAll, describe, expect, it } from "vitest";
import { pool } from "../src/platform/prisma.ts";
import { recordOutcome, setGathering } from "../src/modules/delivery/outcome-writer.ts";
import { createCustomer, createTemplate, createTopic } from "./support/fixtures.ts";
import { useHarness } from "./support/harness.ts";

const h = useHarness({ workers: false });
const WINDOW_MS = 20_000;
const ENOUGH = 16;
let defaults: { ms: number; enough: number } | null = null;
afterAll(() => defaults && setGathering(defaults));

/** n messages in `sending`, each with its claim (as the claim leaves them). */
async function claimed(n: number): Promise<Array<{ id: string; claim: string }>> {
  const topic = await createTopic(h, "transactional", "Receipts");
  const tpl = await createTemplate(h, { subject: "Receipt", html: "<p>Thanks</p>" });
  const c = await createCustomer(h);
  const { rows } = await pool.query<{ id: string; claim: string }>(
    `INSERT INTO messages (id, customer_id, topic_id, template_version_id, status, data, claimed_at, created_at, updated_at)
     SELECT gen_random_uuid(), $1::uuid, t.id, v.id, 'sending', '{}', now(), now(), now()
       FROM generate_series(1, $4::int) g, topics t, template_versions v JOIN templates tp ON tp.id = v.template_id
      WHERE t.key = $2 AND tp.key = $3
     RETURNING id, claimed_at::text AS claim`,
    [c.id, topic.key, tpl.key, n],
  );
  return rows;
}

const sentCount = async (ids: string[]) =>
  (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM messages WHERE id = ANY($1::uuid[]) AND status = 'sent'", [ids])).rows[0].n;

describe("the outcome writer's groups", () => {
  it("when fewer than enough outcomes wait, then they wait for the window; when enough wait, then they are written at once", async () => {
    defaults = setGathering({ ms: WINDOW_MS, enough: ENOUGH });
    const rows = await claimed(ENOUGH);
    const record = (r: { id: string; claim: string }) => recordOutcome({ id: r.id, kind: "sent", claim: r.claim, attempted: true });

    const first = rows.slice(0, ENOUGH - 1).map(record);
    await new Promise((r) => setTimeout(r, 1500));
    // Precondition: one short of enough, nothing is written yet (the window is 20 s).
    expect(await sentCount(rows.map((r) => r.id))).toBe(0);

    const started = performance.now();
    const all = [...first, record(rows[ENOUGH - 1])];
    expect(await Promise.all(all)).toEqual(rows.map(() => true));
    expect(performance.now() - started).toBeLessThan(WINDOW_MS / 2);
    expect(await sentCount(rows.map((r) => r.id))).toBe(ENOUGH);
  }, 60_000);

  it("when an outcome arrives while a write is in flight, then it still waits for the window from that write's start", async () => {
    const window = 1000;
    defaults ??= setGathering({ ms: window, enough: 1000 });
    setGathering({ ms: window, enough: 1000 });
    const [a, b] = await claimed(2);
    const sent = (r: { id: string }) => sentCount([r.id]);
    // Another transaction holds a's row: the write that carries a starts after the window and waits.
    const holder = await pool.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM messages WHERE id = $1 FOR UPDATE", [a.id]);
      const t0 = performance.now();
      const writtenA = recordOutcome({ id: a.id, kind: "sent", claim: a.claim, attempted: true });
      await new Promise((r) => setTimeout(r, window + 100));
      const writtenB = recordOutcome({ id: b.id, kind: "sent", claim: b.claim, attempted: true });
      await new Promise((r) => setTimeout(r, 200));
      await holder.query("COMMIT");
      expect(await writtenA).toBe(true);
      const releasedAfter = performance.now() - t0;
      await new Promise((r) => setTimeout(r, 250));
      // Precondition: a's write has returned, well before a second window has passed since it started.
      expect(await sent(a)).toBe(1);
      expect(releasedAfter).toBeLessThan(2 * window - 400);
      // b arrived during that write: it waits for the rest of the window instead of going right after.
      expect(await sent(b)).toBe(0);
      expect(await writtenB).toBe(true);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(2 * window - 50);
      expect(await sent(b)).toBe(1);
    } finally {
      await holder.query("ROLLBACK").catch(() => undefined);
      holder.release();
    }
  }, 60_000);
});
