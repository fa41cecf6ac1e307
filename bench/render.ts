// Benchmark: `npx tsx bench/render.ts`
//  1. renders per second of a realistic ~3 KB email with persona variants (warm cache), with the
//     text part derived from the HTML and with an explicit text part;
//  2. persona resolution for 100,000 customers: refreshAllRulePersonas over three personas with
//     overlapping rules, on a dedicated database (BENCH_DATABASE_URL, default .../rapport_bench,
//     dropped and re-created; its name must contain "bench").
// Options: BENCH_CUSTOMERS (default 100000), BENCH_SECONDS (render time per case, default 3).
import { execFileSync } from "node:child_process";
import pg from "pg";

const url = process.env.BENCH_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/rapport_bench";
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const dbName = decodeURIComponent(new URL(url).pathname.slice(1));
if (!/bench/.test(dbName)) throw new Error(`refusing to recreate database '${dbName}': its name must contain "bench"`);

// Configuration is read when the platform modules load: set it first, import them afterwards.
Object.assign(process.env, { DATABASE_URL: url, DATABASE_POOL_SIZE: "4", LOG_LEVEL: "error", NODE_ENV: "test" });
const { renderMessage } = await import("../src/templates/render.ts");
const { prepareTemplate } = await import("../src/templates/compiled.ts");
const { closeTemplatePool } = await import("../src/templates/pool.ts");
const { newId } = await import("../src/platform/ids.ts");
type Persona = import("../src/templates/render.types.ts").RenderPersona;
type Condition = import("../src/modules/personas/condition.ts").Condition;

// ------------------------------------------------------------------------------------------------
// 1. Rendering

const intro = (who: string) => `<p class="lead">{{capitalize customer.name}}, ${who}</p>`;
const html = `<style>
.lead { font-size: 18px; color: #111827; }
.card { border: 1px solid #e5e7eb; border-radius: 8px; padding: 12px; margin: 0 0 12px; }
.card h3 { margin: 0 0 4px; font-size: 16px; }
.price { font-weight: bold; color: #047857; }
.muted { color: #6b7280; font-size: 13px; }
</style>
<h1>Your {{formatDate data.issueDate "long"}} picks</h1>
{{#if persona}}${intro("we picked these with {{lowercase persona.name}} like you in mind.")}{{else}}${intro("here is what is new this week.")}{{/if}}
{{#if touchpoints.lastOpenAt}}<p class="muted">Welcome back: you last read us on {{formatDate touchpoints.lastOpenAt "medium"}}.</p>{{/if}}
{{#each data.products as |p|}}
<div class="card">
  <h3>{{p.name}}</h3>
  <p>{{truncate p.description 140}}</p>
  <p><span class="price">{{currency p.price "EUR"}}</span>{{#if (gt p.stock 0)}} · {{p.stock}} {{pluralize p.stock "unit"}} left{{else}} · sold out{{/if}}</p>
  {{> button href=p.url label="See the product"}}
</div>
{{/each}}
<p>As a {{default customer.attributes.plan "free"}} member you have {{formatNumber customer.attributes.points}} points.</p>
<p class="muted">Questions? Just reply to this email: {{sender.name}} reads every answer.</p>
<h2>From the workshop</h2>
<p>Every week one of our makers explains how a product is made. This week, {{#if persona}}for {{persona.name}} like you, {{/if}}Marta from the leather workshop shows how a wallet goes from a single hide to a finished piece in eleven steps: cutting, skiving, edge painting, stitching by hand with waxed linen thread, and a final burnish that takes longer than all the other steps together. <a href="https://shop.example.com/stories/wallet?utm_source=rapport">Read the story</a>.</p>
<h2>Coming up</h2>
<ul>{{#each data.events as |e|}}<li><strong>{{e.title}}</strong>, {{formatDate e.at "medium" time="short"}} in {{e.city}}{{#if e.full}} (waiting list){{/if}}</li>{{/each}}</ul>
<p>Can't make it? Every workshop is recorded and the replay is sent to everyone who registered, {{#if (eq customer.attributes.plan "pro")}}and as a pro member you also get the maker's notes and patterns{{else}}so nothing is lost{{/if}}. Seats are limited to twelve people per session so that everybody gets hands-on time with the tools.</p>
<table role="presentation" width="100%"><tr>
<td class="muted">Messages this month: {{touchpoints.messagesThisMonth}}</td>
<td class="muted" align="right">Member since {{formatDate customer.attributes.since "medium"}}</td>
</tr></table>
<p class="muted">This week's tip: shipping is free above {{currency 50 "EUR"}}, and returns are free within 30 days of delivery for every order, whatever its size.</p>
{{> signature}}`;

const variant = (key: string, subject: string, lead: string) => ({
  persona: key,
  subject,
  html: html.replace(/\{\{#if persona\}\}[\s\S]*?\{\{\/if\}\}\n/, `${intro(lead)}\n`),
});
const template = {
  id: "bench-template-v1",
  key: "weekly",
  version: 1,
  subject: "{{customer.name}}, your weekly picks",
  html,
  text: null as string | null,
  variants: [
    variant("saver", "{{customer.name}}, deals picked for you", "these are this week's best prices."),
    variant("techie", "{{customer.name}}, new specs just landed", "the specs you asked about are in."),
    variant("family", "Weekly picks for the whole family", "something for everyone at home."),
  ],
};
const persona = (key: string): Persona => ({ key, name: `${key}s`, description: null, story: null, goals: [], concerns: [], interests: [] });
const personas = [persona("saver"), persona("techie"), persona("family"), null];
const products = Array.from({ length: 4 }, (_, i) => ({
  name: `Product ${i + 1}`,
  description: "A sturdy, well-made thing that does exactly what it says, comes with a two-year warranty and ships within two days.",
  price: 19.9 + i * 10,
  stock: i,
  url: `https://shop.example.com/p/${i + 1}?utm_source=rapport&utm_medium=email`,
}));

const events = [
  { title: "Leather basics", at: "2026-12-03T17:00:00Z", city: "Lyon", full: false },
  { title: "Hand stitching", at: "2026-12-10T17:00:00Z", city: "Paris", full: true },
];

async function renderLoop(t: typeof template, label: string) {
  const preparing = performance.now();
  await prepareTemplate(t); // parse, lint, CSS inlining, compile: in the worker pool
  console.log(`  ${label}: prepared in the pool in ${(performance.now() - preparing).toFixed(0)} ms (thread start included the first time)`);
  let i = 0;
  const once = () => {
    const n = i++;
    return renderMessage({
      template: t,
      customer: { id: `c${n}`, name: `customer ${n}`, email: `c${n}@example.com`, locale: n % 2 ? "fr-FR" : "en-GB", timezone: "Europe/Paris", attributes: { plan: "pro", points: n, since: "2021-04-02" } },
      persona: personas[n % personas.length],
      data: { issueDate: "2026-11-24T08:00:00Z", products, events },
      unsubscribeUrl: `https://rapport.example.com/u/token-${n}`,
      preferencesUrl: `https://rapport.example.com/preferences/token-${n}`,
      touchpoints: { lastMessageSentAt: null, lastOpenAt: n % 3 ? "2026-11-20T10:00:00Z" : null, lastClickAt: null, messagesThisMonth: 2 },
      kind: "marketing",
    });
  };
  const cold = performance.now();
  for (let k = 0; k < personas.length; k++) once(); // builds each variant's functions once
  const coldMs = performance.now() - cold;
  for (let k = 0; k < 2000; k++) once(); // JIT warm-up
  let count = 0;
  const start = performance.now();
  const until = start + SECONDS * 1000;
  while (performance.now() < until) for (let k = 0; k < 100; k++, count++) once();
  const secs = (performance.now() - start) / 1000;
  const sample = once();
  console.log(
    `${label}: ${Math.round(count / secs).toLocaleString("en")} renders/s (${((secs * 1000) / count).toFixed(3)} ms each), ` +
      `first render of ${personas.length} variants (functions built from the prepared sources): ${coldMs.toFixed(1)} ms; ` +
      `template html ${Buffer.byteLength(html)} B, output html ${Buffer.byteLength(sample.html)} B, text ${Buffer.byteLength(sample.text)} B`,
  );
  return count / secs;
}

console.log(`# Rendering (${SECONDS}s per case, one core)`);
const derived = await renderLoop(template, "text derived from HTML");
const text = "{{customer.name}}, your weekly picks:\n{{#each data.products as |p|}}- {{p.name}}: {{currency p.price \"EUR\"}} {{p.url}}\n{{/each}}";
await renderLoop({ ...template, id: "bench-template-v2", text, variants: template.variants.map((v) => ({ ...v, text })) }, "explicit text parts   ");

// ------------------------------------------------------------------------------------------------
// 2. Persona resolution for many customers

async function admin(sql: string) {
  const server = new URL(url);
  server.pathname = "/postgres";
  const c = new pg.Client({ connectionString: server.toString() });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

console.log(`\n# Persona resolution (${CUSTOMERS.toLocaleString("en")} customers, database ${dbName})`);
await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
await admin(`CREATE DATABASE "${dbName}"`);
execFileSync(process.execPath, ["node_modules/prisma/build/index.js", "migrate", "deploy"], { env: { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: "1" }, stdio: "pipe" });

const { pool, db, closeDb } = await import("../src/platform/prisma.ts");
const { refreshAllRulePersonas, refreshRulePersonas, personasForCustomers } = await import("../src/modules/personas/persona-assignment.ts");
const { evaluate } = await import("../src/modules/personas/condition.ts");

const plans = ["free", "pro", "team"];
const tags = ["sport", "news", "tech", "garden", "travel", "kids"];
const cities = ["Lyon", "Paris", "Berlin", "Madrid", "Rome"];
const rand = (n: number) => Math.floor(Math.random() * n);
const attrsOf = () => ({
  plan: plans[rand(3)],
  spend: Math.round(Math.random() * 500_000) / 100,
  tags: tags.filter(() => Math.random() < 0.3),
  signup: new Date(Date.UTC(2020, 0, 1) + rand(6 * 365) * 86_400_000).toISOString(),
  address: { city: cities[rand(5)] },
  points: rand(10_000),
});

let t0 = performance.now();
const all: Array<{ id: string; attributes: ReturnType<typeof attrsOf> }> = [];
for (let i = 0; i < CUSTOMERS; i += 10_000) {
  const rows = Array.from({ length: Math.min(10_000, CUSTOMERS - i) }, (_, k) => ({ id: newId(), email: `bench-${i + k}@example.com`, attributes: attrsOf() }));
  all.push(...rows);
  await pool.query(
    `INSERT INTO customers (id, email, attributes, updated_at) SELECT id, email, attributes, now() FROM unnest($1::uuid[], $2::text[], $3::jsonb[]) AS t(id, email, attributes)`,
    [rows.map((r) => r.id), rows.map((r) => r.email), rows.map((r) => JSON.stringify(r.attributes))],
  );
}
await pool.query("VACUUM ANALYZE customers");
console.log(`inserted ${CUSTOMERS.toLocaleString("en")} customers in ${(performance.now() - t0).toFixed(0)} ms (multi-row INSERT from unnest, 10k rows per statement)`);

const rules: Array<{ key: string; priority: number; rule: Condition }> = [
  { key: "big-spender", priority: 30, rule: { all: [{ attr: "spend", op: "gte", value: 2500 }, { attr: "plan", op: "in", value: ["pro", "team"] }] } },
  { key: "sporty", priority: 20, rule: { any: [{ attr: "tags", op: "contains", value: "sport" }, { attr: "tags", op: "in", value: ["travel", "kids"] }] } },
  { key: "newcomer", priority: 10, rule: { all: [{ attr: "signup", op: "gte", value: "2024-06-01" }, { not: { attr: "address.city", op: "eq", value: "Paris" } }] } },
];
for (const r of rules) await db.persona.create({ data: { key: r.key, name: r.key, priority: r.priority, rule: r.rule as object } });

t0 = performance.now();
await refreshAllRulePersonas();
const firstMs = performance.now() - t0;
t0 = performance.now();
await refreshAllRulePersonas();
const againMs = performance.now() - t0;

// The same answer computed in JavaScript, to check the SQL (and to compare the in-memory cost).
t0 = performance.now();
const expected = new Map<string | null, number>();
for (const c of all) {
  const key = rules.find((r) => evaluate(r.rule, c.attributes))?.key ?? null;
  expected.set(key, (expected.get(key) ?? 0) + 1);
}
const jsMs = performance.now() - t0;
const { rows } = await pool.query<{ key: string | null; n: number }>(
  "SELECT p.key, count(*)::int AS n FROM customers c LEFT JOIN personas p ON p.id = c.rule_persona_id GROUP BY p.key",
);
const got = new Map(rows.map((r) => [r.key, r.n]));
const agree = [...expected].every(([k, n]) => got.get(k) === n) && got.size === expected.size;

const sample = all.slice(0, 5000).map((c) => c.id);
t0 = performance.now();
await refreshRulePersonas(sample);
const pageMs = performance.now() - t0;
t0 = performance.now();
await personasForCustomers(sample);
const lookupMs = performance.now() - t0;

console.log(`refreshAllRulePersonas, every customer changes persona: ${firstMs.toFixed(0)} ms`);
console.log(`refreshAllRulePersonas, nothing changes:                ${againMs.toFixed(0)} ms`);
console.log(`refreshRulePersonas for one page of 5,000 ids:          ${pageMs.toFixed(0)} ms`);
console.log(`personasForCustomers for 5,000 ids:                     ${lookupMs.toFixed(0)} ms`);
console.log(`members: ${[...got].map(([k, n]) => `${k ?? "none"}=${n}`).join(", ")}; SQL agrees with the JavaScript evaluator: ${agree} (JS in memory: ${jsMs.toFixed(0)} ms)`);
console.log(`\nsummary: ${Math.round(derived).toLocaleString("en")} renders/s warm (derived text); persona resolution for ${CUSTOMERS.toLocaleString("en")} customers ${firstMs.toFixed(0)} ms`);

await closeDb();
await closeTemplatePool();
if (!process.env.KEEP_BENCH_DB) await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
if (!agree) process.exitCode = 1;
