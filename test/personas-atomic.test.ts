// Issue 9, finding 1: a persona rule that cannot be evaluated must never be saved, because every
// customer write re-evaluates every rule. Dates outside years 1-9999 are refused at the edge, and a
// persona write commits only together with its membership refresh.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db, email, pool, rid, startHarness, type Harness } from "./support/harness.ts";

let h: Harness;
let marketer: string;
beforeAll(async () => {
  h = await startHarness({ workers: false });
  marketer = await h.keyFor("marketer");
});
afterAll(() => h.close());

const post = (body: unknown) => h.api("POST", "/v1/personas", body, { key: marketer });
const exists = async (key: string) => (await db.persona.count({ where: { key } })) > 0;

describe("persona rules that cannot be evaluated", () => {
  for (const value of ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]) {
    it(`when a rule compares with ${value}, then 400 names rule.value, nothing is saved and customer writes still work`, async () => {
      const key = rid("edge-");
      try {
        const r = await post({ key, name: "Edge", rule: { attr: "signup", op: "gt", value } });
        expect(r.status, r.text).toBe(400);
        expect(r.body.errors.map((e: { path: string }) => e.path)).toEqual(["rule.value"]);
        expect(await exists(key)).toBe(false);
        // Nested too, and on PATCH.
        const nested = await post({ key, name: "Edge", rule: { any: [{ attr: "a", op: "exists" }, { not: { attr: "d", op: "lte", value } }] } });
        expect(nested.body.errors.map((e: { path: string }) => e.path)).toEqual(["rule.any.1.not.value"]);
        expect((await post({ key, name: "Edge" })).status).toBe(201);
        const patched = await h.api("PATCH", `/v1/personas/${key}`, { rule: { attr: "signup", op: "eq", value } }, { key: marketer });
        expect(patched.status).toBe(400);
        expect(patched.body.errors[0].path).toBe("rule.value");
        // Everyone else's writes go on.
        expect((await h.api("POST", "/v1/customers", { email: email(), attributes: { signup: "2024-01-01" } })).status).toBe(201);
        expect((await post({ key: rid("next-"), name: "Next", rule: { attr: "signup", op: "gt", value: "2020-01-01" } })).status).toBe(201);
      } finally {
        // Should this regress, do not leave a rule behind that breaks the other test files.
        await pool.query("DELETE FROM personas WHERE key = $1", [key]);
      }
    });
  }

  it("when the first membership refresh fails, then the persona is not saved and a PATCH keeps the old rule", async () => {
    const ns = rid("ns");
    const key = rid("boom-");
    const fn = `refuse_${ns}`;
    const c = await h.api("POST", "/v1/customers", { email: email(), attributes: { [ns]: { x: 1 } } });
    expect(c.status).toBe(201);
    // As a superuser could: refuse to give this test's customer a persona whose key is `key`.
    // Scoped to that key, so the other test files (same database) are not affected.
    await pool.query(
      `CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.rule_persona_id IS NOT NULL AND EXISTS (SELECT 1 FROM personas WHERE id = NEW.rule_persona_id AND key = '${key}') THEN
           RAISE EXCEPTION 'refresh refused by test';
         END IF;
         RETURN NEW;
       END $$`,
    );
    await pool.query(`CREATE TRIGGER ${fn} BEFORE UPDATE OF rule_persona_id ON customers FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
    try {
      const rule = { attr: `${ns}.x`, op: "exists" };
      const r = await post({ key, name: "Boom", rule });
      expect(r.status).toBe(500);
      expect(await exists(key)).toBe(false);
      expect((await h.api("GET", `/v1/personas/${key}`, undefined, { key: marketer })).status).toBe(404);

      // Without a matching rule it saves; giving it the rule fails, and the rule stays as it was.
      expect((await post({ key, name: "Boom", rule: { attr: `${ns}.nobody`, op: "exists" } })).status).toBe(201);
      expect((await h.api("PATCH", `/v1/personas/${key}`, { rule, name: "Renamed" }, { key: marketer })).status).toBe(500);
      const after = await h.api("GET", `/v1/personas/${key}`, undefined, { key: marketer });
      expect(after.body).toMatchObject({ name: "Boom", rule: { attr: `${ns}.nobody`, op: "exists" } });
    } finally {
      await pool.query(`DROP TRIGGER ${fn} ON customers`);
      await pool.query(`DROP FUNCTION ${fn}()`);
      await pool.query("DELETE FROM personas WHERE key = $1", [key]);
    }
  });
});
