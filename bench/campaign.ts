// Campaign benchmark: `npx tsx bench/campaign.ts` (BENCH_SIZES=10000,100000 BENCH_WORKERS=1
// BENCH_WARMUP=1).
//
// Per size, in a fresh engine (database, queue prefix, processes; bench/lib/engine.ts): N customers
// in four personas, 80% consenting to a marketing topic, in three timezones, all due now (no
// localTime). Then, in the same run:
//   raw       nodemailer's pooled transport sending as many pre-built marketing messages as will be
//             delivered, into the same sink (its own process): the limit for this machine.
//   campaign  one API process and BENCH_WORKERS worker processes (src/main.ts); the campaign is
//             created and scheduled through the API. Fan-out time (schedule to fan-out done),
//             delivered/s (first to last message received), ratio to raw, CPU per delivered message
//             per process (workers, PostgreSQL, Redis, sink), peak RSS of every engine process and
//             Redis memory (largest used_memory seen minus the value before).
//   budget    what 80% of raw leaves per message for the engine's own steps once raw's building and
//             sending and the sink are taken out of the machine's cores, and what they used
//             (bench/lib/budget.ts).
// BENCH_WARMUP=1 first delivers a campaign to as many other customers on the same processes, and the
// raw baseline sends as many messages untimed first: the figures of processes already warm.
import { availableParallelism } from "node:os";
import { randomBytes } from "node:crypto";
import { benchTemplate } from "./lib/content.ts";
import { cpuOfChild, printTimeline, rssOf, startEngine } from "./lib/engine.ts";
import { cpuOf, cpuSince, sleep } from "./lib/measure.ts";
import { budget } from "./lib/budget.ts";

const SIZES = (process.env.BENCH_SIZES ?? "10000,100000").split(",").map(Number);
// One worker process per two cores: each has a build thread (DELIVERY_BUILD_THREADS) beside its
// event loop (bench/README.md, eighth pass: on 2 cores one process reached 88-91% of raw, two 78%).
const WORKERS = Number(process.env.BENCH_WORKERS ?? Math.max(1, Math.floor(availableParallelism() / 2)));
const ZONES = ["Asia/Tokyo", "Europe/Berlin", "America/New_York"];
// Processes that already delivered a campaign: what the cold start costs (bench/README.md, fifth pass).
const WARMUP = process.env.BENCH_WARMUP === "1";

// One process per size: each size gets fresh module state (database pool, queues) and its own RSS.
if (SIZES.length > 1) {
  const { spawnSync } = await import("node:child_process");
  for (const n of SIZES) {
    const r = spawnSync(process.execPath, ["--import", "tsx", "bench/campaign.ts"], { stdio: "inherit", env: { ...process.env, BENCH_SIZES: String(n) } });
    if (r.status !== 0) process.exitCode = 1; // a size that failed fails the run
  }
} else await run(SIZES[0]);
process.exit();

async function run(N: number) {
  const engine = await startEngine();
  const { pool } = await import("../src/platform/prisma.ts");
  const { newId } = await import("../src/platform/ids.ts");
  const { addressHash } = await import("../src/platform/secrets.ts");
  const { redis } = await import("../src/platform/redis.ts");
  try {
    // Set-up (direct SQL: the import path has its own benchmark).
    const topicId = newId();
    await pool.query("INSERT INTO topics (id, key, name, kind, created_at, updated_at) VALUES ($1, 'news', 'News', 'marketing', now(), now())", [topicId]);
    const personas = ["saver", "explorer", "pro", "family"];
    const personaIds = personas.map(() => newId());
    for (const [i, key] of personas.entries()) {
      await pool.query("INSERT INTO personas (id, key, name, created_at, updated_at) VALUES ($1, $2, $3, now(), now())", [personaIds[i], key, key]);
    }
    const tpl = benchTemplate();
    const templateId = newId();
    await pool.query("INSERT INTO templates (id, key, created_at) VALUES ($1, 'spring', now())", [templateId]);
    await pool.query(
      `INSERT INTO template_versions (id, template_id, version, name, subject, html, text, variants, created_at)
       VALUES ($1, $2, 1, 'Spring', $3, $4, $5, $6, now())`,
      [newId(), templateId, tpl.subject, tpl.html, tpl.text, JSON.stringify(personas.map((p) => ({ persona: p, subject: `${p}: {{data.order}} spring offers` })))],
    );
    // BENCH_WARMUP=1: as many customers again in a fifth persona, for a first campaign on the same
    // processes before the measured one (the raw baseline sends as many first too, untimed).
    const addCustomers = async (prefix: string, personaOf: (i: number) => string) => {
      let yesCount = 0;
      for (let i = 0; i < N; i += 5000) {
        const ids = Array.from({ length: Math.min(5000, N - i) }, () => newId());
        const emails = ids.map((_, j) => `${prefix}-${i + j}@bench.example`);
        await pool.query(
          `INSERT INTO customers (id, email, email_hash, name, timezone, persona_id, attributes, created_at, updated_at)
           SELECT id, email, hash, 'Customer ' || email, tz, pid, '{}', now(), now()
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[]) AS x(id, email, hash, tz, pid)`,
          [ids, emails, emails.map((e) => addressHash(e)), ids.map((_, j) => ZONES[(i + j) % 3]), ids.map((_, j) => personaOf(i + j))],
        );
        const yes = ids.filter((_, j) => (i + j) % 5 !== 0); // 80%
        yesCount += yes.length;
        await pool.query(
          `INSERT INTO consents (customer_id, topic_id, channel, status, created_at, updated_at)
           SELECT id, $2::uuid, 'email', 'opted_in', now(), now() FROM unnest($1::uuid[]) AS id`,
          [yes, topicId],
        );
      }
      return yesCount;
    };
    const consenting = await addCustomers("camp", (i) => personaIds[i % 4]);
    let warmConsenting = 0;
    if (WARMUP) {
      const warmId = newId();
      await pool.query("INSERT INTO personas (id, key, name, created_at, updated_at) VALUES ($1, 'warmup', 'warmup', now(), now())", [warmId]);
      warmConsenting = await addCustomers("warm", () => warmId);
    }
    // As an import of this size does (imports.service.ts): fresh planner statistics.
    await pool.query("ANALYZE customers, consents, consent_events");
    console.log(`\n== ${N} customers, ${consenting} consenting, 4 personas, 3 timezones, ${WORKERS} worker process(es), database ${engine.dbName}`);

    const raw = await engine.raw(consenting, "marketing", warmConsenting);
    const rawCpu = WARMUP ? `${((raw.sendCpu / consenting) * 1000).toFixed(0)} µs/message after ${warmConsenting} untimed` : `${((raw.cpu / consenting) * 1000).toFixed(0)} µs/message incl. building them`;
    console.log(`raw limit: ${consenting} pre-built marketing messages via pooled nodemailer in ${(raw.ms / 1000).toFixed(2)} s = ${raw.rate.toFixed(0)}/s (cpu ${rawCpu}, peak RSS ${raw.rss.toFixed(0)} MB)`);
    printTimeline("raw", await engine.stats());
    await engine.resetSink();

    const api = await engine.startApp("api");
    const workers = await Promise.all(Array.from({ length: WORKERS }, () => engine.startApp("worker")));
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${engine.port}${path}`, {
        method, headers: { authorization: `Bearer ${engine.env.RAPPORT_ADMIN_KEY}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = await res.json();
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    if (WARMUP) {
      const warm = await call("POST", "/v1/campaigns", { name: `warm-up ${randomBytes(3).toString("hex")}`, topic: "news", template: "spring", audience: { personas: ["warmup"] } });
      await call("POST", `/v1/campaigns/${warm.id}/schedule`);
      await engine.waitDelivered(warmConsenting);
      await engine.resetSink();
      console.log(`warm-up: a first campaign delivered ${warmConsenting} messages on the same processes`);
    }
    const camp = await call("POST", "/v1/campaigns", { name: `bench ${randomBytes(3).toString("hex")}`, topic: "news", template: "spring", audience: { personas } });
    const memBefore = Number(/used_memory:(\d+)/.exec(await redis().info("memory"))![1]);
    let memPeak = memBefore;
    const cpu0 = { pg: cpuOf(["postgres"]), redis: cpuOf(["redis-server"]), sink: cpuOfChild(engine.sink), workers: workers.map(cpuOfChild), api: cpuOfChild(api) };
    const t0 = performance.now();
    await call("POST", `/v1/campaigns/${camp.id}/schedule`);
    let fanoutMs = 0;
    for (;;) {
      const s = await engine.stats();
      memPeak = Math.max(memPeak, Number(/used_memory:(\d+)/.exec(await redis().info("memory"))![1]));
      if (!fanoutMs) {
        const { rows } = await pool.query("SELECT fanout_done_at IS NOT NULL AS done FROM campaigns WHERE id = $1", [camp.id]);
        if (rows[0].done) fanoutMs = performance.now() - t0;
      }
      if (s.count >= consenting) break;
      await sleep(200);
    }
    const d = await engine.stats();
    printTimeline("campaign", d);
    const rate = ((d.count - 1) / (d.last - d.first)) * 1000;
    const per = (ms: number) => `${((ms / d.count) * 1000).toFixed(0)} µs`;
    // CPU (ms) of each process since the schedule, read once for the figures and the budget.
    const used = {
      workers: workers.map((w, i) => cpuOfChild(w) - cpu0.workers[i]),
      api: cpuOfChild(api) - cpu0.api,
      pg: cpuSince(cpu0.pg, ["postgres"]),
      redis: cpuSince(cpu0.redis, ["redis-server"]),
      sink: cpuOfChild(engine.sink) - cpu0.sink,
    };
    // The sink has every message; the last outcomes are written moments later (gathered, outcome-writer.ts).
    const settleAt = performance.now();
    let c = await call("GET", `/v1/campaigns/${camp.id}`);
    while (c.counts.queued > 0 && performance.now() - settleAt < 10_000) {
      await sleep(50);
      c = await call("GET", `/v1/campaigns/${camp.id}`);
    }
    const settledMs = performance.now() - settleAt;
    console.log(`fan-out: ${N} recipients in ${(fanoutMs / 1000).toFixed(2)} s = ${((N / fanoutMs) * 1000).toFixed(0)}/s`);
    console.log(`delivered ${d.count} in ${((d.last - d.first) / 1000).toFixed(2)} s = ${rate.toFixed(0)}/s = ${((rate / raw.rate) * 100).toFixed(0)}% of raw (${raw.rate.toFixed(0)}/s), duplicates ${d.dupes}; schedule to last delivery ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    console.log(`CPU per delivered message: ${used.workers.map((ms, i) => `worker${i + 1} ${per(ms)}`).join(", ")}, api ${per(used.api)}, PostgreSQL ${per(used.pg)}, Redis ${per(used.redis)}, sink ${per(used.sink)}`);
    const engineCpu = used.workers.reduce((sum, ms) => sum + ms, 0) + used.api + used.pg + used.redis;
    budget(raw, d.count, consenting, { engine: engineCpu, sink: used.sink });
    console.log(`peak RSS: api ${rssOf(api).toFixed(0)} MB, ${workers.map((w, i) => `worker${i + 1} ${rssOf(w).toFixed(0)} MB`).join(", ")}; Redis memory +${((memPeak - memBefore) / 1048576).toFixed(1)} MB at peak`);
    console.log(`outcomes recorded ${settledMs.toFixed(0)} ms after the last delivery`);
    console.log(`campaign counts: ${JSON.stringify({ targeted: c.counts.targeted, sent: c.counts.sent, queued: c.counts.queued, suppressed: c.counts.suppressedByReason })}`);
    const t1 = performance.now();
    const stats = await call("GET", `/v1/campaigns/${camp.id}/stats`);
    const t2 = performance.now();
    const { campaignCounts } = await import("../src/modules/campaigns/campaigns.repository.ts");
    await campaignCounts([camp.id]);
    console.log(`GET stats: ${(t2 - t1).toFixed(1)} ms over HTTP for ${stats.data.length} personas; the counters' query ${(performance.now() - t2).toFixed(1)} ms`);
  } finally {
    await engine.close();
  }
}
