import { beforeAll, describe, expect, it } from "vitest";
import { personasForCustomers, refreshAllRulePersonas, refreshRulePersonas } from "../src/modules/personas/persona-assignment.ts";
import { db, email, pool, rid, useHarness } from "./support/harness.ts";
import { waitUntil } from "./support/wait.ts";

const h = useHarness({ workers: false });
let marketer: string;
beforeAll(async () => {
  marketer = await h.keyFor("marketer");
});

// Other test files share the database: every rule here is scoped to a namespace attribute of its
// own, so it never matches (or re-assigns) anyone else's customers.
const scope = () => rid("ns");

async function customer(attributes: Record<string, unknown>, personaId: string | null = null) {
  const c = await db.customer.create({ data: { email: email(), attributes: attributes as object, personaId } });
  await refreshRulePersonas([c.id]);
  return c.id;
}

async function personaOf(id: string) {
  const r = (await personasForCustomers([id])).get(id)!;
  return { key: r.persona?.key ?? null, source: r.source };
}

const post = (body: unknown) => h.api("POST", "/v1/personas", body, { key: marketer });

describe("personas", () => {
  it("when three personas with overlapping rules match, then the highest priority wins and ties go to the lowest key", async () => {
    const ns = scope();
    const p = rid("p");
    const big = { attr: `${ns}.spend`, op: "gte", value: 1000 };
    const any = { attr: `${ns}.spend`, op: "gte", value: 0 };
    const sporty = { attr: `${ns}.tags`, op: "contains", value: "sport" };
    expect((await post({ key: `${p}-whale`, name: "Whale", rule: big, priority: 30 })).status).toBe(201);
    expect((await post({ key: `${p}-b-sporty`, name: "Sporty", rule: sporty, priority: 10 })).status).toBe(201);
    expect((await post({ key: `${p}-a-buyer`, name: "Buyer", rule: any, priority: 10 })).status).toBe(201);

    const whale = await customer({ [ns]: { spend: 5000, tags: ["sport"] } });
    const tie = await customer({ [ns]: { spend: 10, tags: ["sport"] } });
    const sportOnly = await customer({ [ns]: { tags: ["sport"] } });
    const none = await customer({ [ns]: { tags: [] } });
    expect(await personaOf(whale)).toEqual({ key: `${p}-whale`, source: "rule" });
    expect(await personaOf(tie)).toEqual({ key: `${p}-a-buyer`, source: "rule" });
    expect(await personaOf(sportOnly)).toEqual({ key: `${p}-b-sporty`, source: "rule" });
    expect(await personaOf(none)).toEqual({ key: null, source: null });

    // Raising a priority re-resolves everyone at once.
    expect((await h.api("PATCH", `/v1/personas/${p}-b-sporty`, { priority: 50 }, { key: marketer })).status).toBe(200);
    expect((await personaOf(whale)).key).toBe(`${p}-b-sporty`);
    expect((await personaOf(tie)).key).toBe(`${p}-b-sporty`);
  });

  it("when a customer has an explicit persona, then it beats a matching rule", async () => {
    const ns = scope();
    const rule = await post({ key: rid("rule-"), name: "Rule", rule: { attr: `${ns}.vip`, op: "eq", value: true }, priority: 100 });
    const explicit = await post({ key: rid("explicit-"), name: "Explicit" });
    const id = await customer({ [ns]: { vip: true } }, explicit.body.id);
    expect(await personaOf(id)).toEqual({ key: explicit.body.key, source: "explicit" });
    const members = await h.api("GET", `/v1/personas/${rule.body.key}/customers`, undefined, { key: marketer });
    expect(members.body.data.map((c: { id: string }) => c.id)).not.toContain(id);
    const explicitMembers = await h.api("GET", `/v1/personas/${explicit.body.key}/customers`, undefined, { key: marketer });
    expect(explicitMembers.body.data).toEqual([expect.objectContaining({ id, persona: explicit.body.key, personaSource: "explicit" })]);
    // Without the explicit persona, the rule applies.
    await db.customer.update({ where: { id }, data: { personaId: null } });
    expect(await personaOf(id)).toEqual({ key: rule.body.key, source: "rule" });
  });

  it("when a customer's attributes change, then the customer moves to the matching persona", async () => {
    const ns = scope();
    const trial = await post({ key: rid("trial-"), name: "Trial", rule: { attr: `${ns}.plan`, op: "eq", value: "trial" } });
    const paid = await post({ key: rid("paid-"), name: "Paid", rule: { all: [{ attr: `${ns}.plan`, op: "in", value: ["pro", "team"] }, { attr: `${ns}.since`, op: "lt", value: "2030-01-01" }] } });
    const id = await customer({ [ns]: { plan: "trial" } });
    expect((await personaOf(id)).key).toBe(trial.body.key);
    await db.customer.update({ where: { id }, data: { attributes: { [ns]: { plan: "pro", since: "2025-06-01T08:00:00Z" } } } });
    await refreshRulePersonas([id]);
    expect((await personaOf(id)).key).toBe(paid.body.key);
    await db.customer.update({ where: { id }, data: { attributes: { [ns]: { plan: "gone" } } } });
    await refreshRulePersonas([id]);
    expect(await personaOf(id)).toEqual({ key: null, source: null });
  });

  it("when a rule is edited or a persona deleted, then membership follows for existing customers", async () => {
    const ns = scope();
    const low = await post({ key: rid("low-"), name: "Low", rule: { attr: `${ns}.n`, op: "exists" }, priority: 1 });
    const high = await post({ key: rid("high-"), name: "High", rule: { attr: `${ns}.n`, op: "gt", value: 100 }, priority: 2 });
    const ids = await Promise.all([5, 50, 500].map((n) => customer({ [ns]: { n } })));
    expect((await Promise.all(ids.map(personaOf))).map((p) => p.key)).toEqual([low.body.key, low.body.key, high.body.key]);
    await h.api("PATCH", `/v1/personas/${high.body.key}`, { rule: { attr: `${ns}.n`, op: "gt", value: 10 } }, { key: marketer });
    expect((await Promise.all(ids.map(personaOf))).map((p) => p.key)).toEqual([low.body.key, high.body.key, high.body.key]);
    expect((await h.api("DELETE", `/v1/personas/${high.body.key}`, undefined, { key: marketer })).status).toBe(204);
    expect((await Promise.all(ids.map(personaOf))).map((p) => p.key)).toEqual([low.body.key, low.body.key, low.body.key]);
    expect((await h.api("GET", `/v1/personas/${high.body.key}`, undefined, { key: marketer })).status).toBe(404);
  });

  it("when members are listed, then pages follow the cursor and cover every member once", async () => {
    const ns = scope();
    const p = await post({ key: rid("club-"), name: "Club", rule: { attr: `${ns}.club`, op: "eq", value: true } });
    const ids = await Promise.all(Array.from({ length: 5 }, () => customer({ [ns]: { club: true } })));
    await customer({ [ns]: { club: false } });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { data: Array<{ id: string }>; nextCursor: string | null } } = await h.api(
        "GET", `/v1/personas/${p.body.key}/customers?limit=2${cursor ? `&cursor=${cursor}` : ""}`, undefined, { key: marketer },
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((c) => c.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([...ids].sort());
    expect((await h.api("GET", `/v1/personas/${rid("nope-")}/customers`, undefined, { key: marketer })).status).toBe(404);
  });

  it("when a rule is invalid, then 400 gives the path of the mistake and nothing is created", async () => {
    const key = rid("bad-");
    const r = await post({ key, name: "Bad", rule: { all: [{ attr: "a", op: "eq", value: 1 }, { attr: "b", op: "like", value: "x" }] } });
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: { path: string }) => e.path)).toContain("rule.all.1.op");
    const inj = await post({ key, name: "Bad", rule: { attr: "a'); DROP TABLE customers; --", op: "exists" } });
    expect(inj.status).toBe(400);
    expect(inj.body.errors[0].path).toBe("rule.attr");
    expect((await h.api("GET", `/v1/personas/${key}`, undefined, { key: marketer })).status).toBe(404);
  });

  it("when a persona is created, read, listed and patched, then the resource round-trips; duplicates are 409", async () => {
    const key = rid("full-");
    const body = { key, name: "Full", description: "d", story: "s", goals: ["save"], concerns: ["price"], interests: ["deals"], rule: { attr: "x", op: "exists" }, priority: -5 };
    const created = await post(body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject(body);
    expect((await post(body)).status).toBe(409);
    const patched = await h.api("PATCH", `/v1/personas/${key}`, { rule: null, story: null, name: "Fuller" }, { key: marketer });
    expect(patched.body).toMatchObject({ key, name: "Fuller", story: null, rule: null, goals: ["save"] });
    const list = await h.api("GET", "/v1/personas?limit=500", undefined, { key: marketer });
    expect(list.body.data.map((p: { key: string }) => p.key)).toContain(key);
    await h.api("DELETE", `/v1/personas/${key}`, undefined, { key: marketer });
  });

  it("when personas are deleted while refreshes run, then no refresh writes a deleted persona and none fails", async () => {
    const ns = scope();
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => customer({ [ns]: { n: i } })));
    for (let round = 0; round < 10; round++) {
      const p = await post({ key: rid("gone-"), name: "Gone", rule: { attr: `${ns}.n`, op: "gte", value: 0 } });
      const results = await Promise.allSettled([
        refreshAllRulePersonas(),
        refreshRulePersonas(ids),
        h.api("DELETE", `/v1/personas/${p.body.key}`, undefined, { key: marketer }),
        refreshRulePersonas(ids.slice(0, 5)),
      ]);
      expect(results.filter((r) => r.status === "rejected")).toEqual([]);
      expect((results[2] as PromiseFulfilledResult<{ status: number }>).value.status).toBe(204);
    }
    expect(await db.customer.count({ where: { id: { in: ids }, rulePersonaId: { not: null } } })).toBe(0);
  });

  it("when a persona is deleted while a PATCH of it waits, then the PATCH is 404, not 500", async () => {
    const key = rid("race-");
    const p = await post({ key, name: "Race" });
    // Hold the row so that the PATCH has read the persona but blocks on its write, then delete it.
    const c = await pool.connect();
    try {
      await c.query("BEGIN");
      await c.query("SELECT 1 FROM personas WHERE id = $1 FOR UPDATE", [p.body.id]);
      const holder = (await c.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
      const patch = h.api("PATCH", `/v1/personas/${key}`, { name: "Renamed" }, { key: marketer });
      // Precondition: the PATCH's UPDATE is blocked by this transaction (asked from another
      // connection: inside a transaction, pg_stat_activity is a snapshot).
      await waitUntil(async () => {
        const { rows } = await pool.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid)) AND query ILIKE '%UPDATE%personas%'",
          [holder],
        );
        return rows[0].n > 0;
      }, "the PATCH to wait on the row lock", 10_000, 20);
      await c.query("DELETE FROM personas WHERE id = $1", [p.body.id]);
      await c.query("COMMIT");
      const r = await patch;
      expect(r.status).toBe(404);
    } finally {
      c.release();
    }
    expect((await h.api("PATCH", `/v1/personas/${key}`, { name: "x" }, { key: marketer })).status).toBe(404);
    expect((await h.api("DELETE", `/v1/personas/${key}`, undefined, { key: marketer })).status).toBe(404);
  });

  it("when the latest version of a template has a variant for a persona, then deleting the persona is 409 naming the template", async () => {
    const key = rid("used-");
    await post({ key, name: "Used" });
    const tpl = rid("tpl-");
    const t = { key: tpl, name: "T", subject: "s", html: "<p>default</p>", variants: [{ persona: key, html: "<p>for them</p>" }] };
    expect((await h.api("POST", "/v1/templates", t, { key: marketer })).status).toBe(201);
    const refused = await h.api("DELETE", `/v1/personas/${key}`, undefined, { key: marketer });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain(tpl);
    expect(refused.body.templates).toEqual([tpl]);
    expect((await h.api("GET", `/v1/personas/${key}`, undefined, { key: marketer })).status).toBe(200);
    // Once the latest version no longer names it, the persona can go (older versions keep their text).
    expect((await h.api("POST", `/v1/templates/${tpl}/versions`, { subject: "s", html: "<p>v2</p>" }, { key: marketer })).status).toBe(201);
    expect((await h.api("DELETE", `/v1/personas/${key}`, undefined, { key: marketer })).status).toBe(204);
  });

  it("when a template version naming a persona is saved while the persona is deleted, then never both succeed", async () => {
    const tpl = rid("tpl-");
    expect((await h.api("POST", "/v1/templates", { key: tpl, name: "T", subject: "s", html: "<p>d</p>" }, { key: marketer })).status).toBe(201);
    for (let round = 0; round < 8; round++) {
      const key = rid("racy-");
      await post({ key, name: "Racy" });
      const [saved, deleted] = await Promise.all([
        h.api("POST", `/v1/templates/${tpl}/versions`, { subject: "s", html: "<p>d</p>", variants: [{ persona: key, subject: "x" }] }, { key: marketer }),
        h.api("DELETE", `/v1/personas/${key}`, undefined, { key: marketer }),
      ]);
      expect([saved.status, deleted.status].sort()).toSatisfy((s: number[]) => (s[0] === 201 && s[1] === 409) || (s[0] === 204 && s[1] === 422));
    }
  });

  it("when a developer writes personas, then 403", async () => {
    const dev = await h.keyFor("developer");
    expect((await h.api("POST", "/v1/personas", { key: rid("d-"), name: "x" }, { key: dev })).status).toBe(403);
  });

  it("when every customer is re-resolved at once, then exactly the matching ones join the persona", async () => {
    const ns = scope();
    const p = await post({ key: rid("bulk-"), name: "Bulk", rule: { attr: `${ns}.n`, op: "gte", value: 500 } });
    const rows = Array.from({ length: 2000 }, (_, i) => ({ email: email(), attributes: { [ns]: { n: i } } }));
    await db.customer.createMany({ data: rows });
    await refreshAllRulePersonas();
    const members = await db.customer.count({ where: { rulePersona: { key: p.body.key } } });
    expect(members).toBe(1500);
  });
});
