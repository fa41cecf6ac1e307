// Import throughput through the real engine: `npx tsx bench/import.ts`.
// Starts `src/main.ts` (API + workers in one process, as `npm start` does) against a database of its
// own (rapport_bench_<random>, created and migrated by the engine), posts 100,000 CSV rows as 10
// imports of 10,000, waits until every import is completed, and prints rows per second and the
// engine's peak RSS. Then re-imports the same rows (all updates) and prints that rate too. Half the
// rows carry an opt-in with source and proof, and three rule personas are defined.
// Needs local PostgreSQL and Redis (see ../shared/ENVIRONMENT.md). BENCH_ROWS / BENCH_BATCH override.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import pg from "pg";
import { freePort } from "../test/support/wait.ts";
import { benchNodeArgs } from "./lib/measure.ts";

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 10_000);
// BENCH_PLAIN=1: customers only (no consent columns, no rule personas), the floor of the pipeline.
const PLAIN = process.env.BENCH_PLAIN === "1";
const server = process.env.BENCH_DATABASE_SERVER ?? "postgresql://postgres@127.0.0.1:5432";
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const dbName = `rapport_bench_${randomBytes(4).toString("hex")}`;
const adminKey = randomBytes(24).toString("base64url");
const prefix = `bench${randomBytes(4).toString("hex")}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const status = (pid: number, field: string) =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const engine = spawn(process.execPath, [...benchNodeArgs(), "--import", "tsx", "src/main.ts"], {
  env: {
    ...process.env, NODE_ENV: "development", DATABASE_URL: `${server}/${dbName}`, DATABASE_CREATE: "true",
    REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, PORT: String(port), HOST: "127.0.0.1",
    // Nothing is sent; a set SMTP_URL keeps the embedded dev SMTP server (and its port) out of it.
    SMTP_URL: "smtp://127.0.0.1:9", RAPPORT_ADMIN_KEY: adminKey, LOG_LEVEL: "warn",
  },
  stdio: ["ignore", "inherit", "inherit"],
});

async function api(method: string, path: string, body?: string, type = "application/json") {
  const r = await fetch(base + path, { method, headers: { authorization: `Bearer ${adminKey}`, "content-type": type }, body });
  const json = await r.json();
  if (r.status >= 300) throw new Error(`${method} ${path} -> ${r.status}: ${JSON.stringify(json)}`);
  return json;
}

function csvBatch(first: number, count: number, plan: string): string {
  const lines = [`email,externalId,name,locale,timezone,attributes.plan,attributes.country${PLAIN ? "" : ",consent.news,consent_source,consent_proof"}`];
  const zones = ["Europe/Paris", "America/New_York", "Asia/Tokyo", "Europe/Berlin"];
  for (let i = first; i < first + count; i++) {
    const consent = PLAIN ? "" : i % 2 === 0 ? ",opted_in,signup-form,form-submission-" + i : ",,,";
    lines.push(`user${i}@bench.example.com,ext-${i},"Customer ${i}",en-GB,${zones[i % 4]},${plan},${["FR", "US", "JP", "DE"][i % 4]}${consent}`);
  }
  return lines.join("\n");
}

async function run(label: string, plan: string): Promise<void> {
  const started = performance.now();
  const ids: string[] = [];
  for (let first = 0; first < ROWS; first += BATCH) {
    ids.push((await api("POST", "/v1/customers/import", csvBatch(first, Math.min(BATCH, ROWS - first), plan), "text/csv")).id);
  }
  const accepted = performance.now() - started;
  const totals = { created: 0, updated: 0, failed: 0 };
  for (const id of ids) {
    for (;;) {
      const i = await api("GET", `/v1/imports/${id}`);
      if (i.status === "failed") throw new Error(`import ${id} failed: ${JSON.stringify(i.errors.slice(0, 3))}`);
      if (i.status === "completed") {
        totals.created += i.created;
        totals.updated += i.updated;
        totals.failed += i.failed;
        break;
      }
      await sleep(200);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${label}: ${ROWS} rows in ${ids.length} imports, ${seconds.toFixed(2)} s -> ${Math.round(ROWS / seconds)} rows/s ` +
      `(all accepted after ${(accepted / 1000).toFixed(2)} s; created ${totals.created}, updated ${totals.updated}, failed ${totals.failed})`,
  );
}

try {
  for (let i = 0; ; i++) {
    if (engine.exitCode !== null) throw new Error("the engine exited during start-up");
    if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) break;
    if (i > 600) throw new Error("the engine did not become ready within 60 s");
    await sleep(100);
  }
  await api("POST", "/v1/topics", JSON.stringify({ key: "news", name: "News", kind: "marketing" }));
  // Rule personas make every page pay for the persona refresh, as in production.
  const db = new pg.Client({ connectionString: `${server}/${dbName}` });
  await db.connect();
  if (!PLAIN) await db.query(
    `INSERT INTO personas (id, key, name, rule, priority, updated_at) VALUES
       (gen_random_uuid(), 'pro-fr', 'Pro in France', '{"all":[{"attr":"plan","op":"eq","value":"pro"},{"attr":"country","op":"eq","value":"FR"}]}', 2, now()),
       (gen_random_uuid(), 'pro', 'Pro', '{"attr":"plan","op":"eq","value":"pro"}', 1, now()),
       (gen_random_uuid(), 'japan', 'Japan', '{"attr":"country","op":"in","value":["JP"]}', 0, now())`,
  );
  const idle = status(engine.pid!, "VmRSS");
  await run("create", "pro");
  await run("update", "basic");
  const counts = await db.query(
    "SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM consents) AS consents, (SELECT count(*) FROM customers WHERE rule_persona_id IS NOT NULL) AS ruled",
  );
  await db.end();
  console.log(`database: ${JSON.stringify(counts.rows[0])}`);
  console.log(`engine RSS: ${idle.toFixed(0)} MB when ready, peak ${status(engine.pid!, "VmHWM").toFixed(0)} MB`);
} finally {
  engine.kill("SIGTERM");
  await new Promise((r) => (engine.exitCode !== null ? r(null) : engine.once("exit", r)));
  const admin = new pg.Client({ connectionString: `${server}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await admin.end();
  const redis = new Redis(redisUrl);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
}
