// Benchmark: `npx tsx bench/console.ts`: server time of every console page with 100,000 customers
// (three rule personas, consents, a ledger) and 100,000 sent messages over 30 days, on a dedicated
// database (BENCH_DATABASE_URL, default .../rapport_bench_console, dropped and re-created; its name
// must contain "bench"). Each page is requested BENCH_ROUNDS times (default 20) over loopback after
// one warm-up; the time is from request to last byte, an upper bound of the server's time.
import { SCRATCH_ADMIN_KEY, startScratchEngine } from "../scripts/support/scratch-engine.ts";

const url = process.env.BENCH_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/rapport_bench_console";
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const { pool, base, close } = await startScratchEngine(url, "benchconsole");
const ADMIN = SCRATCH_ADMIN_KEY;
const { createPersona } = await import("../src/modules/personas/personas.service.ts");
const { createTemplate } = await import("../src/modules/templates/templates.service.ts");
const { createCustomer } = await import("../src/modules/customers/customers.service.ts");
const { setConsent } = await import("../src/modules/consent/consent.service.ts");

let t = performance.now();
await pool.query(`INSERT INTO topics (id, key, name, kind, updated_at) VALUES (gen_random_uuid(), 'news', 'News', 'marketing', now())`);
await pool.query(
  `INSERT INTO customers (id, email, email_hash, external_id, name, attributes, updated_at)
   SELECT gen_random_uuid(), 'c' || i || '@bench.example', md5('c' || i), 'ext-' || i, 'Customer ' || i,
          jsonb_build_object('plan', (ARRAY['free','pro','team'])[1 + i % 3], 'points', i % 1000, 'country', (ARRAY['FR','DE','US','GB'])[1 + i % 4]), now()
     FROM generate_series(1, $1::int) i`,
  [CUSTOMERS],
);
await pool.query(
  `INSERT INTO consents (customer_id, topic_id, channel, status, updated_at)
   SELECT c.id, t.id, 'email', 'opted_in', now() FROM customers c CROSS JOIN topics t`,
);
await pool.query(
  `INSERT INTO consent_events (customer_id, topic_id, channel, action, status, source, actor, created_at)
   SELECT c.customer_id, c.topic_id, 'email', 'opted_in', 'opted_in', 'import', 'system', now() - (random() * interval '30 days') FROM consents c`,
);
for (const [key, rule, priority] of [["pros", { attr: "plan", op: "eq", value: "pro" }, 30], ["teams", { attr: "plan", op: "eq", value: "team" }, 20], ["french", { attr: "country", op: "eq", value: "FR" }, 10]] as const) {
  await createPersona({ key, name: key, story: `The ${key}.`, goals: ["goal"], rule, priority });
}
const tpl = await createTemplate({ key: "weekly", name: "Weekly", subject: "Hi {{customer.name}}", html: "<p>Hello {{customer.name}}</p>", variants: [{ persona: "pros", subject: "Pro news" }] });
await pool.query(
  `INSERT INTO messages (id, customer_id, topic_id, template_version_id, status, created_at, sent_at, updated_at)
   SELECT gen_random_uuid(), c.id, (SELECT id FROM topics), $1::uuid, 'sent', s, s, s
     FROM (SELECT id, now() - (random() * interval '30 days') AS s FROM customers) c`,
  [tpl.versionId],
);
const someone = await createCustomer({ email: "someone@bench.example", name: "Someone", attributes: { plan: "pro" } });
await setConsent({ customerId: someone.id, topicKey: "news", status: "opted_in", source: "bench", proof: "form", actor: "system" });
await pool.query("VACUUM ANALYZE"); // what autovacuum does on a live database
console.log(`seeded ${CUSTOMERS.toLocaleString("en")} customers, consents, ledger rows and sent messages in ${((performance.now() - t) / 1000).toFixed(1)} s`);

const pre = await fetch(`${base}/console/sign-in`);
const preCookie = pre.headers.getSetCookie()[0].split(";")[0];
const token = /name="_csrf" value="([^"]+)"/.exec(await pre.text())![1];
const signed = await fetch(`${base}/console/sign-in`, { method: "POST", redirect: "manual", headers: { cookie: preCookie, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ key: ADMIN, _csrf: token }) });
const cookie = signed.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");

const pages = [
  "/console", "/console/personas", "/console/personas/pros", "/console/templates", "/console/templates/weekly",
  "/console/templates/weekly/history", "/console/customers", "/console/customers?persona=french", "/console/customers?q=someone%40bench.example",
  `/console/customers/${someone.id}`, "/console/topics", "/console/suppressions?address=someone%40bench.example", "/console/api-keys",
];
// Round robin, so that load from other processes falls on every page alike; the minimum is the
// closest to the server's own time on a busy machine, the median what a user sees on this one.
const times = new Map<string, number[]>(pages.map((p) => [p, []]));
for (let i = 0; i <= ROUNDS; i++) {
  for (const p of pages) {
    t = performance.now();
    const r = await fetch(base + p, { headers: { cookie } });
    await r.text();
    if (r.status !== 200) throw new Error(`${p}: ${r.status}`);
    if (i > 0) times.get(p)!.push(performance.now() - t);
  }
}
const stats = (xs: number[]) => {
  xs.sort((a, b) => a - b);
  const q = (f: number) => xs[Math.min(xs.length - 1, Math.floor(f * xs.length))];
  return [xs[0], q(0.5), q(0.95)].map((x) => x.toFixed(1).padStart(7)).join(" ");
};
console.log(`# console pages, ${ROUNDS} rounds (ms: min / median / p95)`);
for (const [p, xs] of times) console.log(`${p.padEnd(56)} ${stats(xs)}`);
// The rule editor's count as the marketer types (POST, htmx fragment).
const csrf = /name="csrf-token" content="([^"]+)"/.exec(await (await fetch(`${base}/console/personas/new`, { headers: { cookie } })).text())![1];
const countTimes: number[] = [];
for (let i = 0; i <= ROUNDS; i++) {
  t = performance.now();
  const r = await fetch(`${base}/console/personas/count`, {
    method: "POST",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded", "x-csrf-token": csrf },
    body: new URLSearchParams({ rule_mode: "all", r_neg: "", r_attr: "plan", r_op: "eq", r_value: i % 2 ? "pro" : "team" }),
  });
  const body = await r.text();
  if (r.status !== 200 || !body.includes("data-count")) throw new Error(`count: ${r.status} ${body.slice(0, 200)}`);
  if (i > 0) countTimes.push(performance.now() - t);
}
console.log(`${"POST /console/personas/count (fragment: scans all attributes)".padEnd(56)} ${stats(countTimes)}`);
console.log(`load average during the run: ${(await import("node:os")).loadavg().map((x) => x.toFixed(1)).join(" ")} on ${(await import("node:os")).cpus().length} cores`);
await close();
