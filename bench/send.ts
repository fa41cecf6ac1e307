// Send-pipeline benchmark: `npx tsx bench/send.ts` (BENCH_N=20000 BENCH_WORKERS=2 BENCH_CONCURRENCY=50).
//
// Processes: this one (set-up and the HTTP load generator), an SMTP sink (smtp-server, counting and
// checking Message-IDs), one API process and BENCH_WORKERS worker processes started through the real
// entry point (src/main.ts, RAPPORT_ROLE=api|worker), and a raw-baseline process (bench/lib). Uses a
// database and a queue prefix of its own; the database is dropped at the end.
//
// Measured in one run:
//   raw       nodemailer's pooled transport (the project's sendRaw) sending N pre-built raw MIME
//             messages into the same sink: the limit for this machine.
//   pipelined N POST /v1/messages (concurrency C) with the workers running: accepted/s, and
//             delivered/s from the first request to the last message received.
//   drain     N accepted with no worker running, then the workers started: delivered/s from the first
//             to the last message received (the delivery path alone, comparable with raw).
import http from "node:http";
import { benchTemplate } from "./lib/content.ts";
import { startEngine } from "./lib/engine.ts";
import { cpuMs, cpuOf, cpuSince, peakRss } from "./lib/measure.ts";

const N = Number(process.env.BENCH_N ?? 20_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);

// Declared before main runs: a class below the top-level await is still uninitialised while main
// runs, and `instanceof Skip` in its catch threw, so every failed run ended with exit code 0.
class Skip extends Error {}

await main();

async function main() {
  const engine = await startEngine();
  const { env, port, sink } = engine;
  console.log(`bench: N=${N}, HTTP concurrency ${CONCURRENCY}, ${WORKERS} worker process(es), database ${engine.dbName}`);

  // Set-up in this process: database, migrations, a developer key, a topic, a template, N customers.
  const { addressHash } = await import("../src/platform/secrets.ts");
  const { pool } = await import("../src/platform/prisma.ts");
  const { newId } = await import("../src/platform/ids.ts");
  const { createApiKey } = await import("../src/modules/api-keys/api-keys.service.ts");
  // A developer key (looked up per request, as in production); BENCH_ADMIN_ENV_KEY=1 uses the
  // environment admin key instead, which skips that lookup (shows what the API key lookup costs).
  const key = process.env.BENCH_ADMIN_ENV_KEY ? env.RAPPORT_ADMIN_KEY : (await createApiKey({ name: "bench", role: "developer" })).key;
  const topicId = newId();
  await pool.query("INSERT INTO topics (id, key, name, kind, created_at, updated_at) VALUES ($1, 'receipts', 'Receipts', 'transactional', now(), now())", [topicId]);
  const tpl = benchTemplate();
  const templateId = newId();
  await pool.query("INSERT INTO templates (id, key, created_at) VALUES ($1, 'receipt', now())", [templateId]);
  await pool.query(
    `INSERT INTO template_versions (id, template_id, version, name, subject, html, text, variants, created_at)
     VALUES ($1, $2, 1, 'Receipt', $3, $4, $5, '[]', now())`,
    [newId(), templateId, tpl.subject, tpl.html, tpl.text],
  );
  const customerIds: string[] = [];
  for (let i = 0; i < 2 * N; i += 5000) {
    const ids = Array.from({ length: Math.min(5000, 2 * N - i) }, () => newId());
    const emails = ids.map((_, j) => `bench-${i + j}@bench.example`);
    await pool.query(
      `INSERT INTO customers (id, email, email_hash, name, attributes, created_at, updated_at)
       SELECT id, email, hash, 'Customer ' || email, '{}', now(), now() FROM unnest($1::uuid[], $2::text[], $3::text[]) AS x(id, email, hash)`,
      [ids, emails, emails.map((e) => addressHash(e))],
    );
    customerIds.push(...ids);
  }

  const startApp = (appRole: "api" | "worker") => engine.startApp(appRole);
  const stats = engine.stats;
  const waitDelivered = (n: number) => engine.waitDelivered(n);

  try {
    // 1. Raw limit.
    const rawResult = await engine.raw(N);
    const rawRate = rawResult.rate;
    const rawBytes = (await stats()).bytes / N;
    console.log(`raw limit: ${N} pre-built raw messages via pooled nodemailer in ${(rawResult.ms / 1000).toFixed(2)} s = ${rawRate.toFixed(0)}/s (${(rawBytes / 1024).toFixed(1)} KB each, peak RSS ${rawResult.rss.toFixed(0)} MB)`);
    await engine.resetSink();

    const api = await startApp("api");
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const post = (customerId: string, i: number) =>
      new Promise<number>((resolve, reject) => {
        const payload = JSON.stringify({ to: { customerId }, template: "receipt", topic: "receipts", data: { order: `A-${i}` } });
        const req = http.request(
          { host: "127.0.0.1", port, path: "/v1/messages", method: "POST", agent,
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "content-length": Buffer.byteLength(payload) } },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("error", reject);
        req.end(payload);
      });
    const load = async (ids: string[]) => {
      let next = 0;
      let failed = 0;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < ids.length) {
          const i = next++;
          if ((await post(ids[i], i)) !== 202) failed++;
        }
      }));
      return { ms: performance.now() - t0, failed };
    };

    // 2. Drain: accept with no worker running, then start the workers.
    const drainIds = customerIds.slice(N, 2 * N);
    const apiCpu0 = cpuMs(api.pid!);
    const accepted1 = await load(drainIds);
    // Steady state: the API's CPU while it accepted the drain's N requests (start-up excluded).
    const apiPerRequest = ((cpuMs(api.pid!) - apiCpu0) / N) * 1000;
    const workers = await Promise.all(Array.from({ length: WORKERS }, () => startApp("worker")));
    const cpu0 = { pg: cpuOf(["postgres"]), redis: cpuOf(["redis-server"]), sink: cpuMs(sink.pid!), workers: workers.map((w) => cpuMs(w.pid!)) };
    const d = await waitDelivered(N);
    const drainRate = ((d.count - 1) / (d.last - d.first)) * 1000;
    const per = (ms: number) => `${((ms / N) * 1000).toFixed(0)} µs`;
    const wcpu = workers.reduce((a, w, i) => a + cpuMs(w.pid!) - cpu0.workers[i], 0);
    console.log(`drain:     accepted ${N} in ${(accepted1.ms / 1000).toFixed(2)} s = ${((N / accepted1.ms) * 1000).toFixed(0)}/s (API alone, ${apiPerRequest.toFixed(0)} µs of API CPU each, ${accepted1.failed} non-202); delivered ${d.count} in ${((d.last - d.first) / 1000).toFixed(2)} s = ${drainRate.toFixed(0)}/s = ${((drainRate / rawRate) * 100).toFixed(0)}% of raw, duplicates ${d.dupes}, ${(d.bytes / d.count / 1024).toFixed(1)} KB each`);
    console.log(`drain CPU per delivered message: workers ${per(wcpu)}, PostgreSQL ${per(cpuSince(cpu0.pg, ["postgres"]))}, Redis ${per(cpuSince(cpu0.redis, ["redis-server"]))}, sink ${per(cpuMs(sink.pid!) - cpu0.sink)}; raw process ${per(rawResult.cpu)} (incl. building the messages)`);
    await engine.resetSink();

    // 3. Pipelined: accept with the workers running (BENCH_SKIP_PIPELINED=1 skips it, e.g. to profile the drain).
    if (process.env.BENCH_SKIP_PIPELINED) throw new Skip();
    const t0 = performance.now();
    const accepted2 = await load(customerIds.slice(0, N));
    const p = await waitDelivered(N);
    const endToEnd = p.last - p.first;
    const totalMs = performance.now() - t0 - (p.now - p.last);
    const pipeRate = (N / totalMs) * 1000;
    console.log(`pipelined: accepted ${N} in ${(accepted2.ms / 1000).toFixed(2)} s = ${((N / accepted2.ms) * 1000).toFixed(0)}/s (${accepted2.failed} non-202); delivered ${p.count}, first request to last delivery ${(totalMs / 1000).toFixed(2)} s = ${pipeRate.toFixed(0)}/s = ${((pipeRate / rawRate) * 100).toFixed(0)}% of raw (first to last delivery ${(endToEnd / 1000).toFixed(2)} s), duplicates ${p.dupes}`);

    // The raw limit again: on a shared machine the load changes during a run, so ratios are taken
    // against the mean of the limit measured before and after the engine's phases.
    await engine.resetSink();
    const rawAfter = await engine.raw(N);
    const rawMean = (rawRate + rawAfter.rate) / 2;
    const rawCpuPer = ((rawResult.cpu + rawAfter.cpu) / 2 / N) * 1000;
    console.log(`raw again: ${rawAfter.rate.toFixed(0)}/s (before ${rawRate.toFixed(0)}/s; mean ${rawMean.toFixed(0)}/s)`);
    const rss = [peakRss(api.pid!), ...workers.map((w) => peakRss(w.pid!))];
    const verdict = (ok: boolean) => (ok ? "ok" : "BELOW TARGET");
    console.log(
      `summary:   drain ${((drainRate / rawMean) * 100).toFixed(0)}% of raw (target 80%: ${verdict(drainRate >= 0.8 * rawMean)}), ` +
        `pipelined ${((pipeRate / rawMean) * 100).toFixed(0)}% (target 50%: ${verdict(pipeRate >= 0.5 * rawMean)}), ` +
        `API CPU ${apiPerRequest.toFixed(0)} µs per accepted request = ${(apiPerRequest / rawCpuPer).toFixed(2)} x raw's ${rawCpuPer.toFixed(0)} µs per message (target 0.6: ${verdict(apiPerRequest <= 0.6 * rawCpuPer)}), ` +
        `duplicates ${d.dupes + p.dupes}, peak RSS max ${Math.max(...rss).toFixed(0)} MB (target 300: ${verdict(Math.max(...rss) < 300)})`,
    );
    const { rows } = await pool.query("SELECT status, count(*)::int AS n FROM messages GROUP BY status ORDER BY status");
    console.log(`messages by status: ${rows.map((r: { status: string; n: number }) => `${r.status}=${r.n}`).join(", ")}`);
    const mem = [`api ${peakRss(api.pid!).toFixed(0)} MB (cpu ${(cpuMs(api.pid!) / 1000).toFixed(1)} s)`,
      ...workers.map((w, i) => `worker${i + 1} ${peakRss(w.pid!).toFixed(0)} MB (cpu ${(cpuMs(w.pid!) / 1000).toFixed(1)} s)`),
      `sink cpu ${(cpuMs(sink.pid!) / 1000).toFixed(1)} s`, `bench/load generator ${peakRss(process.pid).toFixed(0)} MB`];
    console.log(`peak RSS: ${mem.join(", ")}`);
    agent.destroy();
  } catch (err) {
    if (!(err instanceof Skip)) {
      // Not swallowed by the exit below: a failed run must not look like a measured one.
      console.error(err);
      process.exitCode = 1;
    }
  } finally {
    await engine.close();
    process.exit();
  }
}

