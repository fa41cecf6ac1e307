// The send API's group commit (src/modules/messages/accept-queue.ts): concurrent requests are
// resolved and inserted together, yet each keeps its own answer.
import { describe, expect, it } from "vitest";
import { pool, useHarness } from "./support/harness.ts";
import { createCustomer, createTemplate, createTopic } from "./support/fixtures.ts";
import { acceptGroups } from "../src/modules/messages/accept-queue.ts";
import { waitUntil } from "./support/wait.ts";

const h = useHarness();

describe("send API group commit", () => {
  it("when 60 sends arrive at once and the database refuses one of them, then only that one fails and every other is accepted exactly once", async () => {
    const topic = await createTopic(h, "transactional", "Receipts");
    const tpl = await createTemplate(h);
    const customers = [];
    for (let i = 0; i < 60; i++) customers.push(await createCustomer(h));
    const refused = customers[17].id;
    // As a value PostgreSQL refuses would: the insert of this one customer's message fails.
    const fn = `refuse_${refused.replace(/-/g, "")}`;
    await pool.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      IF NEW.customer_id = '${refused}' THEN RAISE EXCEPTION 'refused for the test' USING ERRCODE = '22023'; END IF; RETURN NEW; END $$`);
    await pool.query(`CREATE TRIGGER ${fn} BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
    try {
      const before = { ...acceptGroups };
      const answers = await Promise.all(
        customers.map((c) => h.api("POST", "/v1/messages", { to: { customerId: c.id }, template: tpl.key, topic: topic.key })),
      );
      // Precondition: requests really were written together (else this proves nothing about groups).
      expect(acceptGroups.largest).toBeGreaterThan(1);
      expect(acceptGroups.written - before.written).toBeLessThan(60);
      const bad = answers[17];
      expect(bad.status, bad.text).toBeGreaterThanOrEqual(400);
      expect(bad.headers.get("content-type")).toMatch(/application\/problem\+json/);
      const others = answers.filter((_, i) => i !== 17);
      expect(others.map((a) => a.status)).toEqual(others.map(() => 202));
      const { rows } = await pool.query<{ customer_id: string; n: number }>(
        "SELECT customer_id, count(*)::int AS n FROM messages WHERE customer_id = ANY($1::uuid[]) GROUP BY customer_id",
        [customers.map((c) => c.id)],
      );
      expect(rows.filter((r) => r.customer_id === refused)).toEqual([]);
      expect(rows).toHaveLength(59);
      expect(rows.every((r) => r.n === 1)).toBe(true);
      expect(new Set(others.map((a) => a.body.id)).size).toBe(59);
    } finally {
      await pool.query(`DROP TRIGGER ${fn} ON messages`);
      await pool.query(`DROP FUNCTION ${fn}()`);
    }
  });

  it("when two concurrent sends carry the same Idempotency-Key and body, then one message is written and both answers name it", async () => {
    const topic = await createTopic(h, "transactional", "Receipts");
    const tpl = await createTemplate(h);
    const c = await createCustomer(h);
    const body = { to: { customerId: c.id }, template: tpl.key, topic: topic.key };
    const key = `idem-${c.id}`;
    const [a, b] = await Promise.all([0, 1].map(() => h.api("POST", "/v1/messages", body, { headers: { "idempotency-key": key } })));
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body.id).toBe(b.body.id);
    const { rows } = await pool.query("SELECT id FROM messages WHERE customer_id = $1", [c.id]);
    expect(rows).toHaveLength(1);
  });

  it("when many sends wait while a group is being written, then groups are written alongside, each send is answered once, and an Idempotency-Key shared across them still writes one message", async () => {
    const topic = await createTopic(h, "transactional", "Receipts");
    const tpl = await createTemplate(h);
    const customers: Array<{ id: string }> = [];
    for (let i = 0; i < 60; i++) customers.push(await createCustomer(h));
    const before = { ...acceptGroups, mostAtOnce: 0 };
    acceptGroups.mostAtOnce = 0;
    // Pairs (i, i + 60) share a key and a body: requests far apart in arrival, likely in different groups.
    const send = (i: number) => {
      const c = customers[i % 60];
      return h.api("POST", "/v1/messages", { to: { customerId: c.id }, template: tpl.key, topic: topic.key }, { headers: { "idempotency-key": `overlap-${c.id}` } });
    };
    // The groups' inserts wait on these customers' rows (the foreign key check), so requests pile up
    // behind the first group whatever the machine's speed, until a second group is being written.
    const lock = await pool.connect();
    let answers: Awaited<ReturnType<typeof send>>[];
    try {
      await lock.query("BEGIN");
      await lock.query("SELECT id FROM customers WHERE id = ANY($1::uuid[]) FOR UPDATE", [customers.map((c) => c.id)]);
      const pending = Promise.all(Array.from({ length: 120 }, (_, i) => send(i)));
      await waitUntil(() => acceptGroups.mostAtOnce > 1, "a second group written alongside the first", 10_000).catch(() => undefined);
      await lock.query("COMMIT");
      answers = await pending;
    } finally {
      lock.release();
    }
    // Precondition: groups really overlapped (else this proves nothing about concurrent groups).
    expect(acceptGroups.mostAtOnce).toBeGreaterThan(1);
    expect(acceptGroups.written - before.written).toBeGreaterThan(2);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    for (let i = 0; i < 60; i++) expect(answers[i].body.id).toBe(answers[i + 60].body.id);
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM messages WHERE customer_id = ANY($1::uuid[])", [customers.map((c) => c.id)]);
    expect(rows[0].n).toBe(60);
  });
});
