import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addressKey } from "../src/modules/customers/email.ts";
import { failStaleImports, processImport, scrubPendingImports, STALE_IMPORT_MS } from "../src/modules/imports/imports.service.ts";
import { refreshRulePersonas } from "../src/modules/personas/persona-assignment.ts";
import { addressHash } from "../src/platform/secrets.ts";
import { db, email, pool, rid, startHarness, type Harness } from "./support/harness.ts";
import { sleep, waitUntil } from "./support/wait.ts";

let h: Harness;
// Imports made through this file's own key, so counts ignore imports other test files make meanwhile.
let ownKey: string;
let mine: { actor: string };
beforeAll(async () => {
  h = await startHarness();
  const r = await h.api("POST", "/v1/api-keys", { name: rid("imports-"), role: "admin" });
  ownKey = r.body.key;
  mine = { actor: `api-key:${r.body.id}` };
});
afterAll(() => h.close());

const csv = (text: string, key?: string | null) =>
  h.api("POST", "/v1/customers/import", undefined, { raw: text, headers: { "content-type": "text/csv" }, key: key === undefined ? ownKey : key });

async function finished(id: string, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await h.api("GET", `/v1/imports/${id}`);
    expect(r.status).toBe(200);
    if (r.body.status === "completed" || r.body.status === "failed") return r.body;
    if (Date.now() > until) throw new Error(`import ${id} still ${r.body.status} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

const topic = async (doubleOptIn = false) => {
  const key = rid("imp-");
  expect((await h.api("POST", "/v1/topics", { key, name: "Imported", kind: "marketing", doubleOptIn })).status).toBe(201);
  return key;
};
const persona = async (rule?: object) => {
  const key = rid("p-");
  await db.persona.create({ data: { key, name: key, ...(rule ? { rule } : {}) } });
  return key;
};
const json = (text: string) =>
  h.api("POST", "/v1/customers/import", undefined, { raw: text, headers: { "content-type": "application/json" }, key: ownKey });

/** Runs fn while holding persona-assignment's advisory lock exclusively, as a full refresh does. */
const PERSONA_LOCK = 0x7065_7273;
async function whilePersonaLockHeld<T>(fn: (waiters: () => Promise<number>) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query("SELECT pg_advisory_lock($1::bigint)", [PERSONA_LOCK]);
    const waiters = async () =>
      Number((await pool.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted", [PERSONA_LOCK])).rows[0].count);
    return await fn(waiters);
  } finally {
    await c.query("SELECT pg_advisory_unlock_all()").catch(() => undefined);
    c.release();
  }
}

const consentCount = async (tag: string) =>
  Number((await pool.query("SELECT count(*) FROM consents s JOIN customers c ON c.id = s.customer_id WHERE c.email LIKE $1", [`${tag}%`])).rows[0].count);

describe("customer import", () => {
  it("when 10,000 CSV rows include 100 bad ones, then exactly those rows are reported and the other 9,900 are created", async () => {
    const tag = rid("bulk");
    const news = await topic();
    const vip = await persona();
    const taken = rid("ext-");
    expect((await h.api("POST", "/v1/customers", { email: email(), externalId: taken })).status).toBe(201);
    // Each kind of bad row, with the field it must be reported on (undefined: the whole row).
    const bad: Array<[(i: number) => string, string | undefined]> = [
      [(i) => `${tag}-${i}-at-example.com,,,,,,,,`, "email"],
      [(i) => `${tag}-${i}@example.com,,,Mars/Olympus,,,,,`, "timezone"],
      [(i) => `${tag}-${i}@example.com,,,,no-such-persona-${tag},,,,`, "persona"],
      [(i) => `${tag}-${i}@example.com,,,,,,opted_in,signup-form,`, "consent_proof"],
      [(i) => `${tag}-${i}@example.com,,,,,,opted_in,,ticket-${i}`, "consent_source"],
      [(i) => `${tag}-${i}@example.com,,,,,,yes please,form,p`, `consent.${news}`],
      [(i) => `${tag}-${i}@example.com,${taken},,,,,,,`, "externalId"],
      [(i) => `${tag}-${i}@example.com,,"Too, few"`, undefined],
      [(i) => `${tag}-${i - 1}@example.com,,,,,,,,`, "email"], // duplicate of the previous (good) row
      [(i) => `${tag}-${i}@example.com,,Na\u0000me,,,,,,`, undefined], // PostgreSQL cannot store NUL
    ];
    const lines = [`email,externalId,name,timezone,persona,attributes.plan,consent.${news},consent_source,consent_proof`];
    const expected = new Map<number, string | undefined>();
    const consented = new Set<number>();
    for (let i = 1; i <= 10_000; i++) {
      if (i % 100 === 50) {
        const [make, field] = bad[(i / 100 | 0) % bad.length];
        lines.push(make(i));
        expected.set(i, field);
      } else if (i % 7 === 0) {
        lines.push(`${tag}-${i}@Example.com,${tag}-x${i},"Name, ${i}",Europe/Paris,${vip},pro,opted_in,signup-form,form-${i}`);
        consented.add(i);
      } else {
        lines.push(`${tag}-${i}@example.com,,Name ${i},,,basic,,,`);
      }
    }
    const started = await csv(lines.join("\r\n"));
    expect(started.status).toBe(202);
    expect(started.body).toEqual({ id: expect.any(String), status: "queued" });
    const done = await finished(started.body.id);

    expect(done).toMatchObject({ status: "completed", format: "csv", total: 10_000, processed: 10_000, created: 9_900, updated: 0, failed: 100 });
    const reported = new Map<number, Set<string | undefined>>();
    for (const e of done.errors) {
      expect(e.message).toEqual(expect.any(String));
      reported.set(e.row, (reported.get(e.row) ?? new Set()).add(e.field));
    }
    expect([...reported.keys()].sort((a, b) => a - b)).toEqual([...expected.keys()]);
    for (const [row, field] of expected) expect(reported.get(row)).toContain(field);
    expect(await db.customer.count({ where: { email: { startsWith: `${tag}-` } } })).toBe(9_900);
    expect(await consentCount(`${tag}-`)).toBe(consented.size);
    const withPersona = await db.customer.count({ where: { email: { startsWith: `${tag}-` }, persona: { key: vip } } });
    expect(withPersona).toBe(consented.size);
    const stored = await db.import.findUniqueOrThrow({ where: { id: started.body.id } });
    expect(stored.input).toBeNull();
    expect(stored.finishedAt).not.toBeNull();
  });

  it("when a JSON import carries attributes, a persona and a consent with proof, then they are stored and the ledger says imported", async () => {
    const news = await topic(true);
    const tag = rid("t");
    const rulePersona = await persona({ attr: "tag", op: "eq", value: tag });
    const addr = email("json");
    const dev = await h.keyFor("developer");
    const r = await h.api("POST", "/v1/customers/import", {
      customers: [
        { email: addr, name: "Jo", locale: "fr-FR", timezone: "Europe/Paris", attributes: { tag, seats: 3 },
          consents: [{ topic: news, status: "opted_in", source: "crm-export", proof: "double opt-in 2024-03-01" }] },
        { email: email(), consents: [{ topic: news, status: "opted_in", source: "crm-export" }] },
        { email: email(), shoeSize: 44 },
        // The ledger source outlives erasure: a label, never free text that may quote the person.
        { email: email(), consents: [{ topic: news, status: "opted_in", source: `signup form of ${addr}`, proof: "p" }] },
      ],
    }, { key: dev });
    expect(r.status).toBe(202);
    expect(r.headers.get("location")).toBe(`/v1/imports/${r.body.id}`);
    const done = await finished(r.body.id);
    expect(done).toMatchObject({ status: "completed", total: 4, processed: 4, created: 1, updated: 0, failed: 3 });
    expect(done.errors).toEqual([
      { row: 2, field: "consents.0.proof", message: expect.stringMatching(/proof/) },
      { row: 3, field: "shoeSize", message: expect.any(String) },
      { row: 4, field: "consents.0.source", message: expect.stringMatching(/label such as 'signup-form'/) },
    ]);
    const found = await h.api("GET", `/v1/customers?email=${encodeURIComponent(addr)}`);
    const c = found.body.data[0];
    expect(c).toMatchObject({ name: "Jo", locale: "fr-FR", timezone: "Europe/Paris", attributes: { tag, seats: 3 }, persona: rulePersona, personaSource: "rule" });
    const consents = await h.api("GET", `/v1/customers/${c.id}/consents`);
    expect(consents.body.data).toEqual([expect.objectContaining({ topic: news, status: "opted_in" })]);
    const ledger = await h.api("GET", `/v1/customers/${c.id}/consent-events`);
    expect(ledger.body.data).toEqual([
      expect.objectContaining({ topic: news, action: "imported", status: "opted_in", source: "crm-export", proof: "double opt-in 2024-03-01" }),
    ]);
  });

  it("when the same people are imported again, then they are updated, not duplicated, and unchanged consent adds no ledger row", async () => {
    const news = await topic();
    const tag = rid("re");
    const rows = (name: string, plan: string) => [
      `email,name,attributes.plan,consent.${news},consent_source,consent_proof`,
      ...Array.from({ length: 30 }, (_, i) => `${tag}-${i}@example.com,${name} ${i},${plan},opted_in,crm,row-${i}`),
    ].join("\n");
    const first = await finished((await csv(rows("First", "basic"))).body.id);
    expect(first).toMatchObject({ created: 30, updated: 0, failed: 0 });
    await pool.query(`UPDATE customers SET attributes = attributes || '{"seats": 5}' WHERE email LIKE $1`, [`${tag}-%`]);
    const second = await finished((await csv(rows("Second", "pro"))).body.id);
    expect(second).toMatchObject({ status: "completed", created: 0, updated: 30, failed: 0 });
    const all = await db.customer.findMany({ where: { email: { startsWith: `${tag}-` } } });
    expect(all).toHaveLength(30);
    // Attributes merge key by key: the import's columns change, the others stay.
    expect(all.every((c) => c.name?.startsWith("Second") && (c.attributes as any).plan === "pro" && (c.attributes as any).seats === 5)).toBe(true);
    const events = await pool.query("SELECT count(*) FROM consent_events e JOIN customers c ON c.id = e.customer_id WHERE c.email LIKE $1", [`${tag}-%`]);
    expect(Number(events.rows[0].count)).toBe(30);
  });

  it("when one import is run twice at once (a stalled job re-delivered), then every row is written and counted once", async () => {
    const tag = rid("twice");
    await h.stopWorkers();
    try {
      const text = ["email,attributes.n", ...Array.from({ length: 2_500 }, (_, i) => `${tag}-${i}@example.com,${i}`)].join("\n");
      const r = await csv(text);
      expect(r.status).toBe(202);
      await Promise.all([processImport(r.body.id), processImport(r.body.id)]);
      const done = await finished(r.body.id);
      expect(done).toMatchObject({ status: "completed", total: 2_500, processed: 2_500, created: 2_500, updated: 0, failed: 0 });
    } finally {
      h.startWorkers();
    }
    expect(await db.customer.count({ where: { email: { startsWith: `${tag}-` } } })).toBe(2_500);
  });

  it("when an import has no consent columns, then it grants no consent at all", async () => {
    const tag = rid("nc");
    const text = ["email,name", ...Array.from({ length: 50 }, (_, i) => `${tag}-${i}@example.com,N${i}`)].join("\n");
    const done = await finished((await csv(text)).body.id);
    expect(done).toMatchObject({ status: "completed", created: 50, failed: 0 });
    expect(await consentCount(`${tag}-`)).toBe(0);
    const events = await pool.query("SELECT count(*) FROM consent_events e JOIN customers c ON c.id = e.customer_id WHERE c.email LIKE $1", [`${tag}-%`]);
    expect(Number(events.rows[0].count)).toBe(0);
  });

  it("when the body is larger than the limit or has more than 10,000 rows, then 413 problem+json and nothing is created", async () => {
    const tag = rid("huge");
    const before = await db.import.count({ where: mine });
    const line = `${tag}-%d@example.com,${"x".repeat(180)}`;
    const huge = ["email,name", ...Array.from({ length: 30_000 }, (_, i) => line.replace("%d", String(i)))].join("\n");
    const r = await csv(huge);
    expect(r.status).toBe(413);
    expect(r.headers.get("content-type")).toMatch(/application\/problem\+json/);
    const many = await h.api("POST", "/v1/customers/import", { customers: Array.from({ length: 10_001 }, (_, i) => ({ email: `${tag}-${i}@e.co` })) }, { key: ownKey });
    expect(many.status).toBe(413);
    expect(many.body.detail).toMatch(/at most 10000 rows; this one has 10001/);
    const manyCsv = await csv(["email", ...Array.from({ length: 10_001 }, (_, i) => `${tag}-${i}@e.co`)].join("\n"));
    expect(manyCsv.status).toBe(413);
    expect(manyCsv.body.detail).toMatch(/at most 10000 rows/);
    expect(await db.import.count({ where: mine })).toBe(before);
    expect(await db.customer.count({ where: { email: { startsWith: `${tag}-` } } })).toBe(0);
  });

  it("when the CSV is malformed or its header is wrong, then 400 problem+json names the problem and nothing is queued", async () => {
    const tag = rid("bad");
    const before = await db.import.count({ where: mine });
    const unbalanced = await csv(`email,name\n${tag}-1@example.com,"Ann\n${tag}-2@example.com,Bob\n`);
    expect(unbalanced.status).toBe(400);
    expect(unbalanced.body.detail).toMatch(/malformed/i);
    const header = await csv(`mail,shoe\n${tag}-1@example.com,44\n`);
    expect(header.status).toBe(400);
    expect(header.body.errors.map((e: any) => e.message).join(" ")).toMatch(/Unknown column 'mail'.*Unknown column 'shoe'|no 'email' column/s);
    const empty = await h.api("POST", "/v1/customers/import", { customers: [] }, { key: ownKey });
    expect(empty.status).toBe(400);
    const wrongType = await h.api("POST", "/v1/customers/import", "email\na@b.co", { headers: { "content-type": "application/xml" }, key: ownKey });
    expect(wrongType.status).toBe(415);
    expect(await db.import.count({ where: mine })).toBe(before);
    expect(await db.customer.count({ where: { email: { startsWith: `${tag}-` } } })).toBe(0);
  });

  it("when a JSON import does not parse (found by the job, not the streaming upload), then 202 and the import fails with the reason and keeps nothing", async () => {
    const tag = rid("unparsable");
    const r = await json(`{"customers":[{"email":"${tag}@example.com"},]}`);
    expect(r.status).toBe(202);
    expect(await finished(r.body.id)).toMatchObject({ status: "failed", created: 0, errors: [{ row: 0, message: expect.stringMatching(/not valid JSON/) }] });
    const left = await pool.query("SELECT (SELECT count(*) FROM import_chunks WHERE import_id = $1)::int AS chunks, (SELECT input FROM imports WHERE id = $1) AS input", [r.body.id]);
    expect(left.rows[0]).toEqual({ chunks: 0, input: null });
    expect(await db.customer.count({ where: { email: { startsWith: tag } } })).toBe(0);
  });

  it("when a marketer imports or reads an unknown import, then 403 and 404", async () => {
    const marketer = await h.keyFor("marketer");
    expect((await csv("email\na@example.com", marketer)).status).toBe(403);
    expect((await h.api("GET", "/v1/imports/00000000-0000-7000-8000-000000000000")).status).toBe(404);
    expect((await h.api("GET", "/v1/imports/not-an-id")).status).toBe(404);
    expect((await csv("email\na@example.com", null)).status).toBe(401);
  });
  it("when a CSV header names an Object.prototype member in an attribute path, then 400 problem+json and nothing is polluted or queued", async () => {
    const before = await db.import.count({ where: mine });
    const original = Object.prototype.toString.call;
    for (const col of ["attributes.toString.call", "attributes.__proto__.polluted", "attributes.a.constructor.prototype.polluted"]) {
      const r = await csv(`email,${col}\n${rid("pp")}@example.com,x\n`);
      expect(r.status).toBe(400);
      expect(r.headers.get("content-type")).toMatch(/application\/problem\+json/);
      expect(r.body.errors).toEqual([{ path: "header.2", message: expect.stringMatching(/reserved name/) }]);
    }
    expect(Object.prototype.toString.call).toBe(original);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await db.import.count({ where: mine })).toBe(before);
  });

  it("when a CSV header has thousands of columns, then 400 at once and nothing is queued; clashing nested columns are still found", async () => {
    const before = await db.import.count({ where: mine });
    const wide = ["email", ...Array.from({ length: 20_000 }, (_, i) => `attributes.a${i}`)].join(",");
    const started = performance.now();
    const r = await csv(`${wide}\n${rid("wide")}@example.com\n`);
    expect(r.status).toBe(400);
    expect(r.body.detail).toMatch(/20001 columns; at most 1000/);
    expect(performance.now() - started).toBeLessThan(2000);
    const clash = await csv(`email,attributes.a,attributes.a.b,attributes.x.y,attributes.x.z\n${rid("cl")}@example.com,1,2,3,4\n`);
    expect(clash.status).toBe(400);
    expect(clash.body.errors).toEqual([{ path: "header", message: expect.stringMatching(/'attributes.a' clashes/) }]);
    expect(await db.import.count({ where: mine })).toBe(before);
  });

  it("when JSON import attributes carry __proto__ and constructor keys, then nothing is polluted and the attributes are stored as plain data", async () => {
    const addr = `${rid("proto")}@example.com`;
    // Raw text: a JS object literal would turn "__proto__" into a prototype before it is sent.
    const r = await json(`{"customers":[{"email":"${addr}","attributes":{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"nested":{"__proto__":{"polluted":"yes"}},"plan":"pro"}}]}`);
    expect(r.status).toBe(202);
    expect(await finished(r.body.id)).toMatchObject({ status: "completed", created: 1, failed: 0 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const stored = await pool.query("SELECT attributes FROM customers WHERE email = $1", [addr]);
    const attrs = stored.rows[0].attributes;
    expect(Object.getPrototypeOf(attrs)).toBe(Object.prototype);
    expect(Object.hasOwn(attrs, "__proto__")).toBe(false); // dropped by the schema, never assigned
    expect(attrs.plan).toBe("pro");
    expect(attrs.constructor).toEqual({ prototype: { polluted: "yes" } });
    expect(Object.hasOwn(attrs.nested, "__proto__")).toBe(true);
  });

  it("when the CSV has a header row and no data rows, then 400 problem+json says so and nothing is queued", async () => {
    const before = await db.import.count({ where: mine });
    for (const text of ["email,name\n", "email,name\r\n\r\n\r\n"]) {
      const r = await csv(text);
      expect(r.status).toBe(400);
      expect(r.headers.get("content-type")).toMatch(/application\/problem\+json/);
      expect(r.body.detail).toMatch(/the CSV has no data rows/i);
    }
    expect(await db.import.count({ where: mine })).toBe(before);
  });

  it("when Ann@example.org is imported and ann@example.org exists, then that customer is updated (no second row) and takes the new spelling", async () => {
    const local = rid("ann");
    const existing = await h.api("POST", "/v1/customers", { email: `${local}@example.org`, name: "Old" });
    expect(existing.status).toBe(201);
    const bob = rid("bob");
    let done;
    await h.stopWorkers();
    try {
      const r = await h.api("POST", "/v1/customers/import", {
        customers: [
          { email: `${local.toUpperCase()}@example.org`, name: "New", externalId: rid("ext-") },
          { email: `${bob}@x.com` },
          { email: `${bob.toUpperCase()}@X.com`, name: "Same person" },
        ],
      });
      // Run here rather than by a worker, so that a failing page surfaces now instead of as retries.
      await processImport(r.body.id);
      done = await finished(r.body.id);
    } finally {
      h.startWorkers();
    }
    expect(done).toMatchObject({ status: "completed", total: 3, created: 1, updated: 1, failed: 1 });
    expect(done.errors).toEqual([{ row: 3, field: "email", message: expect.stringMatching(/Duplicate of row 2/) }]);
    const anns = await pool.query("SELECT id, email, name FROM customers WHERE email_hash = $1", [addressHash(addressKey(`${local}@example.org`))]);
    expect(anns.rows).toEqual([{ id: existing.body.id, email: `${local.toUpperCase()}@example.org`, name: "New" }]);
    expect(await db.customer.count({ where: { email: { in: [`${bob}@x.com`, `${bob.toUpperCase()}@x.com`] } } })).toBe(1);
  });

  it("when refreshRulePersonas is given a transaction's client, then it sees that transaction's rows and rolls back with it", async () => {
    const tag = rid("tx");
    const key = await persona({ attr: "txtag", op: "eq", value: tag });
    const c = await pool.connect();
    try {
      await c.query("BEGIN");
      const ins = await c.query(
        `INSERT INTO customers (id, email, email_hash, attributes, updated_at) VALUES (gen_random_uuid(), $1, $2, $3, now()) RETURNING id`,
        [`${tag}@example.com`, addressHash(`${tag}@example.com`), JSON.stringify({ txtag: tag })],
      );
      const id = ins.rows[0].id;
      await refreshRulePersonas([id], c);
      const inside = await c.query("SELECT p.key FROM customers c JOIN personas p ON p.id = c.rule_persona_id WHERE c.id = $1", [id]);
      expect(inside.rows).toEqual([{ key }]);
      await c.query("ROLLBACK");
    } finally {
      c.release();
    }
    expect(await db.customer.count({ where: { email: `${tag}@example.com` } })).toBe(0);
  });

  it("when a page's persona refresh has to wait, then the page does not commit without it, and every customer gets the rule persona", async () => {
    const tag = rid("wait");
    const key = await persona({ attr: "batch", op: "eq", value: tag });
    await h.stopWorkers();
    try {
      const r = await csv(["email,attributes.batch", ...Array.from({ length: 20 }, (_, i) => `${tag}-${i}@example.com,${tag}`)].join("\n"));
      expect(r.status).toBe(202);
      let run!: Promise<void>;
      await whilePersonaLockHeld(async (waiters) => {
        run = processImport(r.body.id);
        await waitUntil(async () => (await waiters()) > 0, "the import to wait for the persona lock");
        await sleep(500);
        // Written only together with the personas: nothing is visible while the refresh cannot run.
        expect(await db.customer.count({ where: { email: { startsWith: `${tag}-` } } })).toBe(0);
        expect((await db.import.findUniqueOrThrow({ where: { id: r.body.id } })).processed).toBe(0);
      });
      await run;
      expect(await finished(r.body.id)).toMatchObject({ status: "completed", created: 20 });
    } finally {
      h.startWorkers();
    }
    expect(await db.customer.count({ where: { email: { startsWith: `${tag}-` }, rulePersona: { key } } })).toBe(20);
  });

  it("when imports stopped moving more than the threshold ago, then failStaleImports closes them as failed with their input cleared", async () => {
    const insert = async (status: string, ageMs: number) => {
      const r = await pool.query(
        `INSERT INTO imports (id, status, format, input, total, actor, updated_at)
         VALUES (gen_random_uuid(), $1, 'json', '[{"email":"x@example.com"}]', 1, 'test', now() - make_interval(secs => $2::double precision / 1000))
         RETURNING id`,
        [status, ageMs],
      );
      return r.rows[0].id as string;
    };
    const staleRunning = await insert("running", 2 * STALE_IMPORT_MS);
    const staleQueued = await insert("queued", 2 * STALE_IMPORT_MS);
    const spared = await insert("running", 2 * STALE_IMPORT_MS);
    const fresh = await insert("running", 60_000);
    const closed = await failStaleImports(STALE_IMPORT_MS, spared);
    expect(closed).toEqual(expect.arrayContaining([staleRunning, staleQueued]));
    expect(closed).not.toContain(fresh);
    expect(closed).not.toContain(spared);
    const rows = await pool.query("SELECT id, status, input, finished_at, errors FROM imports WHERE id = ANY($1::uuid[])", [[staleRunning, staleQueued, spared, fresh]]);
    const byId = new Map(rows.rows.map((x) => [x.id, x]));
    for (const id of [staleRunning, staleQueued]) {
      expect(byId.get(id)).toMatchObject({ status: "failed", input: null, finished_at: expect.any(Date) });
      expect(byId.get(id).errors).toEqual([{ row: 0, message: expect.stringMatching(/stopped making progress/) }]);
    }
    for (const id of [spared, fresh]) expect(byId.get(id)).toMatchObject({ status: "running", input: expect.any(String), finished_at: null });
    expect((await h.api("GET", `/v1/imports/${staleRunning}`)).body).toMatchObject({ status: "failed", finishedAt: expect.any(String) });
    await pool.query("DELETE FROM imports WHERE id = ANY($1::uuid[])", [[spared, fresh]]);
  });

  it("when a customer named by queued imports is erased, then scrubPendingImports removes their rows and the imports do not create them", async () => {
    const erin = rid("erin");
    const tag = rid("scrub");
    await h.stopWorkers();
    try {
      const j = await h.api("POST", "/v1/customers/import", {
        customers: [{ email: `${erin}@Example.org`, name: "Erin" }, { email: `${tag}-1@example.com` }, { email: ` ${erin.toUpperCase()}@example.ORG ` }, { email: `${tag}-2@example.com` }],
      });
      const c = await csv(`name,email\nErin,${erin}@example.org\nOther,${tag}-3@example.com\n`);
      const untouched = await csv(`email\n${tag}-4@example.com\n`);
      // Not parsed yet (the uploads are raw until their job runs): the erasure is recorded on each
      // as the address's keyed hash, and the job leaves those rows out when it parses the upload.
      const erasedOf = async (id: string) => (await pool.query("SELECT input, erased FROM imports WHERE id = $1", [id])).rows[0];
      for (const id of [j.body.id, c.body.id, untouched.body.id]) expect(await erasedOf(id)).toEqual({ input: null, erased: [] });

      await scrubPendingImports(`${erin.toUpperCase()}@example.org`);

      const hash = addressHash(addressKey(`${erin}@example.org`));
      for (const id of [j.body.id, c.body.id]) expect(await erasedOf(id)).toEqual({ input: null, erased: [hash] });
      for (const id of [j.body.id, c.body.id, untouched.body.id]) await processImport(id);
      for (const id of [j.body.id, c.body.id]) expect(JSON.stringify(await erasedOf(id)).toLowerCase()).not.toContain(erin);
      expect(await finished(untouched.body.id)).toMatchObject({ status: "completed", created: 1, failed: 0 });
      expect(await finished(j.body.id)).toMatchObject({
        status: "completed", total: 4, created: 2, failed: 2,
        errors: [{ row: 1, message: expect.stringMatching(/erased/) }, { row: 3, message: expect.stringMatching(/erased/) }],
      });
      expect(await finished(c.body.id)).toMatchObject({ status: "completed", total: 2, created: 1, failed: 1, errors: [{ row: 1, message: expect.stringMatching(/erased/) }] });
    } finally {
      h.startWorkers();
    }
    expect(await db.customer.count({ where: { emailHash: addressHash(`${erin}@example.org`) } })).toBe(0);
  });

  it("when a running import's input is scrubbed before its next page, then the job re-reads it and does not create the customer", async () => {
    const tag = rid("run");
    const erin = `${tag}-erin@example.com`;
    await h.stopWorkers();
    try {
      const lines = ["email", ...Array.from({ length: 1_200 }, (_, i) => (i === 1_099 ? erin : `${tag}-${i}@example.com`))];
      const r = await csv(lines.join("\n"));
      let run!: Promise<void>;
      await whilePersonaLockHeld(async (waiters) => {
        // The job has read its input and waits in its first page; the erasure scrubs meanwhile.
        run = processImport(r.body.id);
        await waitUntil(async () => (await waiters()) > 0, "the import to wait in its first page");
        await scrubPendingImports(erin);
      });
      await run;
      expect(await finished(r.body.id)).toMatchObject({
        status: "completed", total: 1_200, processed: 1_200, created: 1_199, failed: 1,
        errors: [{ row: 1_100, message: expect.stringMatching(/erased/) }],
      });
    } finally {
      h.startWorkers();
    }
    expect(await db.customer.count({ where: { emailHash: addressHash(erin) } })).toBe(0);
  });
});

describe("import uploads refused part-way", () => {
  it("when an upload is refused before its body was read, then the answer says Connection: close and the client's next request succeeds", async () => {
    const deep = '{"customers":' + "[".repeat(5_000) + "]".repeat(5_000) + "}";
    const headers = { authorization: `Bearer ${ownKey}`, "content-type": "application/json" };
    const refused = await fetch(`${h.baseUrl}/v1/customers/import`, { method: "POST", headers, body: deep });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ detail: "JSON may not be nested deeper than 32 levels" });
    // The socket was given up: the client must not send the next request on it (a reset, before).
    expect(refused.headers.get("connection")).toBe("close");
    const next = await fetch(`${h.baseUrl}/v1/customers/import`, { method: "POST", headers, body: '{"name":"x"}' });
    expect(next.status).toBe(400);
  });
});
