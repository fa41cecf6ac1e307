// Tracking benchmark: `npx tsx bench/tracking.ts` (BENCH_HITS=20000 BENCH_CONCURRENCY=50 BENCH_SENDS=4000).
//
// Processes: this one (set-up, an SMTP sink, the load generators), one API process and one worker
// process through the real entry point (src/main.ts). Uses a database and a queue prefix of its own
// (the database is dropped at the end). While BENCH_SENDS marketing sends go through the API and
// the worker (a campaign's worth of mail being sent), BENCH_HITS opens and clicks (half each, a
// browser's user agent, random messages and links) hit /t/o and /t/c at BENCH_CONCURRENCY.
// Reported: hits/s the public endpoints answered, p50/p99 latency, the Redis stream backlog sampled
// during the load (the writer keeping up: no growing backlog), and how long after the last hit every
// hit was in PostgreSQL.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { freePort } from "../test/support/wait.ts";

const HITS = Number(process.env.BENCH_HITS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const SENDS = Number(process.env.BENCH_SENDS ?? 4000);
const MESSAGES = 5000;
const root = fileURLToPath(new URL("..", import.meta.url));
const CHROME = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const suffix = randomBytes(4).toString("hex");
const dbName = `rapport_bench_${suffix}`;
const port = await freePort();
const { SMTPServer } = await import("smtp-server");
let mails = 0;
const smtp = new SMTPServer({
  authOptional: true, disabledCommands: ["STARTTLS", "AUTH"], logger: false,
  onData(stream, _s, cb) {
    stream.on("data", () => undefined);
    stream.on("end", () => {
      mails++;
      cb();
    });
  },
});
await new Promise<void>((r) => smtp.listen(0, "127.0.0.1", () => r()));
const env: Record<string, string> = {
  NODE_ENV: "production", DATABASE_URL: `${process.env.BENCH_DATABASE_SERVER ?? "postgresql://postgres@127.0.0.1:5432"}/${dbName}`,
  DATABASE_CREATE: "true", DATABASE_MIGRATE: "false", QUEUE_PREFIX: `bench${suffix}`, RAPPORT_SECRET: randomBytes(32).toString("hex"),
  RAPPORT_PUBLIC_URL: `http://127.0.0.1:${port}`, PORT: String(port), HOST: "127.0.0.1", SMTP_RATE_PER_SECOND: "100000",
  SMTP_URL: `smtp://127.0.0.1:${(smtp.server.address() as { port: number }).port}`, LOG_LEVEL: "warn",
};
Object.assign(process.env, env);

const { ensureDatabase, migrate } = await import("../src/platform/bootstrap.ts");
await ensureDatabase();
await migrate();
const { initSecrets, addressHash } = await import("../src/platform/secrets.ts");
initSecrets(env.RAPPORT_SECRET);
const { pool, closeDb } = await import("../src/platform/prisma.ts");
const { redis, closeRedis } = await import("../src/platform/redis.ts");
const { newId } = await import("../src/platform/ids.ts");
const { createApiKey } = await import("../src/modules/api-keys/api-keys.service.ts");
const { saveLinks } = await import("../src/modules/engagement/links.ts");
const { clickUrl, openUrl } = await import("../src/modules/engagement/tokens.ts");
const { streamKey } = await import("../src/modules/engagement/capture.ts");

console.log(`bench: ${HITS} hits at concurrency ${CONCURRENCY} while ${SENDS} marketing messages are sent; database ${dbName}`);
const key = (await createApiKey({ name: "bench", role: "developer" })).key;
const topicId = newId();
await pool.query("INSERT INTO topics (id, key, name, kind, created_at, updated_at) VALUES ($1, 'news', 'News', 'marketing', now(), now())", [topicId]);
const templateId = newId();
const tvId = newId();
await pool.query("INSERT INTO templates (id, key, created_at) VALUES ($1, 'news', now())", [templateId]);
const links = Array.from({ length: 5 }, (_, i) => `https://shop.example/item/${i}?utm_source=news`);
await pool.query(
  `INSERT INTO template_versions (id, template_id, version, name, subject, html, variants, created_at) VALUES ($1, $2, 1, 'News', 'News', $3, '[]', now())`,
  [tvId, templateId, `<h1>News</h1>${links.map((l) => `<p><a href="${l}">Item</a> ${"Lorem ipsum dolor sit amet. ".repeat(10)}</p>`).join("")}`],
);
// Customers opted in; MESSAGES already sent (the ones being opened and clicked), SENDS more to send.
const customers = Array.from({ length: MESSAGES + SENDS }, () => newId());
const emails = customers.map((_, i) => `bench-${i}@bench.example`);
await pool.query(
  `INSERT INTO customers (id, email, email_hash, data_key, attributes, created_at, updated_at)
   SELECT id, email, hash, decode(k, 'hex'), '{}', now(), now() FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS x(id, email, hash, k)`,
  [customers, emails, emails.map((e) => addressHash(e)), customers.map(() => randomBytes(32).toString("hex"))],
);
await pool.query(
  "INSERT INTO consents (customer_id, topic_id, channel, status) SELECT unnest($1::uuid[]), $2, 'email', 'opted_in'",
  [customers, topicId],
);
const sent = customers.slice(0, MESSAGES).map(() => newId());
await pool.query(
  `INSERT INTO messages (id, customer_id, topic_id, template_version_id, status, sent_at, created_at, updated_at)
   SELECT id, c, $3, $4, 'sent', now() - interval '1 hour', now(), now() FROM unnest($1::uuid[], $2::uuid[]) AS x(id, c)`,
  [sent, customers.slice(0, MESSAGES), topicId, tvId],
);
for (let i = 0; i < sent.length; i += 1000) await saveLinks(sent.slice(i, i + 1000).map((id) => ({ messageId: id, links })));

const children: ChildProcess[] = [];
const startApp = (role: "api" | "worker") => {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], { cwd: root, env: { ...process.env, ...env, RAPPORT_ROLE: role, LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => d.toString().includes("rapport started") && resolve());
    child.on("exit", (c) => reject(new Error(`${role} exited with ${c}`)));
  });
};

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY + 20 });
const request = (method: string, url: string, headers: Record<string, string>, body?: string) =>
  new Promise<number>((resolve, reject) => {
    const req = http.request(url, { method, agent, headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(body);
  });

try {
  await Promise.all([startApp("api"), startApp("worker")]);
  const base = `http://127.0.0.1:${port}`;
  // The campaign-like send load, at 20 requests at a time, running beside the hits.
  let sendsDone = 0;
  const sendLoad = (async () => {
    let next = MESSAGES;
    await Promise.all(Array.from({ length: 20 }, async () => {
      while (next < customers.length) {
        const c = customers[next++];
        const body = JSON.stringify({ to: { customerId: c }, template: "news", topic: "news" });
        await request("POST", `${base}/v1/messages`, { authorization: `Bearer ${key}`, "content-type": "application/json" }, body);
        sendsDone++;
      }
    }));
  })();

  const backlog: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      backlog.push(await redis().xlen(streamKey()));
      await sleep(500);
    }
  })();
  const { rows: [{ n: before }] } = await pool.query("SELECT count(*)::int AS n FROM engagement_events");
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < HITS) {
      const i = next++;
      const m = sent[(i * 7919) % sent.length];
      const url = i % 2 === 0 ? openUrl(m) : clickUrl(m, i % links.length);
      const s = performance.now();
      const status = await request("GET", url, { "user-agent": CHROME });
      latencies.push(performance.now() - s);
      if (status !== (i % 2 === 0 ? 200 : 302)) failed++;
    }
  }));
  const loadMs = performance.now() - t0;
  const tEnd = performance.now();
  let stored = 0;
  while (performance.now() - tEnd < 120_000) {
    stored = (await pool.query("SELECT count(*)::int AS n FROM engagement_events")).rows[0].n - before;
    if (stored >= HITS) break;
    await sleep(100);
  }
  const drainMs = performance.now() - tEnd;
  sampling = false;
  await sampler;
  const sendsDuringHits = sendsDone;
  await sendLoad;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(1);
  console.log(`hits: ${HITS} in ${(loadMs / 1000).toFixed(2)} s = ${((HITS / loadMs) * 1000).toFixed(0)}/s (opens and clicks half each), ${failed} unexpected statuses`);
  console.log(`latency: p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`);
  console.log(`writer: stream backlog sampled every 0.5 s during the load: ${backlog.join(", ")}; all ${stored}/${HITS} hits stored ${(drainMs / 1000).toFixed(2)} s after the last one`);
  console.log(`sends: ${sendsDuringHits} of ${SENDS} accepted by the API while the hits ran; ${mails} delivered to the sink by the end`);
} finally {
  agent.destroy();
  for (const c of children.reverse()) c.kill("SIGTERM");
  await sleep(1500);
  let cursor = "0";
  do {
    const [nextCursor, keys] = await redis().scan(cursor, "MATCH", `${env.QUEUE_PREFIX}:*`, "COUNT", 1000);
    if (keys.length) await redis().unlink(...keys);
    cursor = nextCursor;
  } while (cursor !== "0");
  await closeRedis();
  await closeDb();
  smtp.close();
  const pg = await import("pg");
  const admin = new pg.default.Client({ connectionString: `${process.env.BENCH_DATABASE_SERVER ?? "postgresql://postgres@127.0.0.1:5432"}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await admin.end();
}
process.exit(0);
