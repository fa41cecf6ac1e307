// Send-pipeline benchmark: `npx tsx bench/send.ts` (BENCH_N=20000 BENCH_WORKERS=2 BENCH_CONCURRENCY=50).
//
// Processes: this one (set-up and the HTTP load generator), an SMTP sink (smtp-server, counting and
// checking Message-IDs), one API process and BENCH_WORKERS worker processes started through the real
// entry point (src/main.ts, RAPPORT_ROLE=api|worker), and a raw-baseline process. Uses a database
// and a queue prefix of its own; the database is dropped at the end.
//
// Measured in one run:
//   raw       nodemailer's pooled transport (the project's sendRaw) sending N pre-built raw MIME
//             messages into the same sink: the limit for this machine.
//   pipelined N POST /v1/messages (concurrency C) with the workers running: accepted/s, and
//             delivered/s from the first request to the last message received.
//   drain     N accepted with no worker running, then the workers started: delivered/s from the first
//             to the last message received (the delivery path alone, comparable with raw).
import { fork, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import { fileURLToPath } from "node:url";

const role = process.argv[2];
const N = Number(process.env.BENCH_N ?? 20_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const self = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL("..", import.meta.url));

// ---------------------------------------------------------------- sink (child process)
if (role === "sink") {
  const { SMTPServer } = await import("smtp-server");
  let count = 0;
  let first = 0;
  let last = 0;
  let dupes = 0;
  let bytes = 0;
  const seen = new Set<string>();
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ["STARTTLS", "AUTH"], logger: false,
    onData(stream, _session, cb) {
      let head = "";
      stream.on("data", (c: Buffer) => {
        bytes += c.length;
        if (head.length < 4096) head += c.toString("latin1");
      });
      stream.on("end", () => {
        const id = /^Message-ID:\s*(\S+)/im.exec(head)?.[1] ?? "";
        if (seen.has(id)) dupes++;
        seen.add(id);
        const now = performance.now();
        if (count === 0) first = now;
        last = now;
        count++;
        cb();
      });
    },
  });
  server.listen(0, "127.0.0.1", () => process.send!({ port: (server.server.address() as { port: number }).port }));
  process.on("message", (m: { cmd: string }) => {
    if (m.cmd === "stats") process.send!({ count, first, last, dupes, bytes, now: performance.now() });
    if (m.cmd === "reset") {
      count = 0; dupes = 0; first = 0; last = 0; bytes = 0; seen.clear();
      process.send!({ reset: true });
    }
  });
}

// ---------------------------------------------------------------- raw baseline (child process)
else if (role === "raw") {
  const { initSecrets } = await import("../src/platform/secrets.ts");
  initSecrets(process.env.RAPPORT_SECRET!);
  const { composeMime } = await import("../src/modules/delivery/compose.ts");
  const { sendRaw, closeMailer } = await import("../src/platform/mailer.ts");
  const { newId } = await import("../src/platform/ids.ts");
  const { renderMessage } = await import("../src/templates/render.ts");
  const { unsubscribeUrl, preferencesUrl } = await import("../src/modules/public-links/public-links.service.ts");
  // The very messages the pipeline produces (same template, layout, headers and encoding), built
  // beforehand: the difference to the pipeline is everything but the SMTP hand-off.
  const template = { id: newId(), key: "receipt", version: 1, ...benchTemplate(), variants: [] };
  const { prepareTemplate } = await import("../src/templates/compiled.ts");
  await prepareTemplate(template);
  const topic = { id: newId(), key: "receipts", name: "Receipts", kind: "transactional" as const };
  const msgs = Array.from({ length: N }, (_, i) => {
    const id = newId();
    const customer = { id: newId(), email: `raw-${i}@bench.example`, name: `Customer raw-${i}@bench.example`, locale: null, timezone: null, attributes: {} };
    const unsub = unsubscribeUrl(customer.id, topic.id, id);
    const r = renderMessage({ template, customer, persona: null, data: { order: `A-${i}` }, unsubscribeUrl: unsub, preferencesUrl: preferencesUrl(customer.id, id.replace(/-/g, "")), kind: topic.kind });
    return { to: customer.email, raw: composeMime({ messageId: id, to: customer, subject: r.subject, html: r.html, text: r.text, topic, unsubscribeUrl: unsub }) };
  });
  const t0 = performance.now();
  await Promise.all(msgs.map((m) => sendRaw({ from: "bench@rapport.localhost", to: m.to, raw: m.raw })));
  const ms = performance.now() - t0;
  closeMailer();
  process.send!({ ms, rss: peakRss(process.pid), cpu: cpuMs(process.pid) });
  setTimeout(() => process.exit(0), 100);
}

// ---------------------------------------------------------------- orchestrator
else {
  await main();
}

/** The benchmark's template: a ~3 KB receipt body (the layout is added by rendering). */
function benchTemplate() {
  const b = sampleBody();
  return { subject: "Your order {{data.order}}", html: b.html.replace("Hello customer", "Hello {{customer.name}}"), text: b.text.replace("Hello customer", "Hello {{customer.name}}") };
}

function sampleBody() {
  const rows = Array.from({ length: 12 }, (_, i) => `<tr><td>Item ${i}</td><td>1</td><td>€${(i * 3.5).toFixed(2)}</td></tr>`).join("");
  return {
    html: `<html><body><h1>Thanks for your order</h1><p>Hello customer, here is your receipt.</p><table>${rows}</table><p>Questions? Reply to this email.</p>${"<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>".repeat(20)}</body></html>`,
    text: `Thanks for your order\n\nHello customer, here is your receipt.\n${"Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n".repeat(20)}`,
  };
}

function peakRss(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU ms per pid of every process whose command starts with one of `names` (PostgreSQL, Redis). */
function cpuOf(names: string[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (names.some((n) => comm.startsWith(n))) out.set(Number(d), cpuMs(Number(d)));
    } catch {
      /* exited */
    }
  }
  return out;
}

/** CPU used since `before` by the processes alive now (idle ones that exited used none meanwhile). */
function cpuSince(before: Map<number, number>, names: string[]): number {
  let total = 0;
  for (const [pid, ms] of cpuOf(names)) total += ms - (before.get(pid) ?? 0);
  return total;
}

function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return 0;
  }
}

async function main() {
  const suffix = randomBytes(4).toString("hex");
  const dbName = `rapport_bench_${suffix}`;
  const server = process.env.BENCH_DATABASE_SERVER ?? "postgresql://postgres@127.0.0.1:5432";
  const port = 39000 + Math.floor(Math.random() * 1000);
  const env: Record<string, string> = {
    NODE_ENV: "production",
    // BENCH_PG_SOCKET=/var/run/postgresql talks to PostgreSQL over its unix socket (cheaper than TCP).
    DATABASE_URL: process.env.BENCH_PG_SOCKET
      ? `postgresql://postgres@localhost/${dbName}?host=${encodeURIComponent(process.env.BENCH_PG_SOCKET)}`
      : `${server}/${dbName}`,
    DATABASE_CREATE: "true",
    DATABASE_MIGRATE: "false",
    QUEUE_PREFIX: `bench${suffix}`,
    RAPPORT_SECRET: randomBytes(32).toString("hex"),
    RAPPORT_PUBLIC_URL: `http://127.0.0.1:${port}`,
    PORT: String(port),
    HOST: "127.0.0.1",
    SMTP_RATE_PER_SECOND: "100000",
    RAPPORT_ADMIN_KEY: `bench-admin-${randomBytes(16).toString("hex")}`,
    LOG_LEVEL: "warn",
  };

  console.log(`bench: N=${N}, HTTP concurrency ${CONCURRENCY}, ${WORKERS} worker process(es), database ${dbName}`);
  const sink = fork(self, ["sink"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const sinkPort = ((await once(sink, (m) => "port" in m)) as { port: number }).port;
  env.SMTP_URL = `smtp://127.0.0.1:${sinkPort}`;
  Object.assign(process.env, env);

  // Set-up in this process: database, migrations, a developer key, a topic, a template, N customers.
  const { ensureDatabase, migrate } = await import("../src/platform/bootstrap.ts");
  await ensureDatabase();
  await migrate();
  const { initSecrets, addressHash } = await import("../src/platform/secrets.ts");
  initSecrets(env.RAPPORT_SECRET);
  const { pool, closeDb } = await import("../src/platform/prisma.ts");
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

  const children: ChildProcess[] = [sink];
  const startApp = (appRole: "api" | "worker") => {
    // BENCH_PROFILE=dir writes a V8 CPU profile per process there (open in Chrome DevTools).
    const prof = process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
    const child = spawn(process.execPath, [...prof, "--import", "tsx", "src/main.ts"], {
      cwd: root, env: { ...process.env, ...env, RAPPORT_ROLE: appRole, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "info" }, stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(child);
    return new Promise<ChildProcess>((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => {
        if (process.env.BENCH_LOG) process.stderr.write(d);
        if (d.toString().includes("rapport started")) resolve(child);
      });
      child.on("exit", (c) => reject(new Error(`${appRole} exited with ${c}`)));
    });
  };
  const stats = () => ask(sink, { cmd: "stats" }, (m) => "count" in m) as Promise<{ count: number; first: number; last: number; dupes: number; bytes: number; now: number }>;
  const waitDelivered = async (n: number, timeoutMs = 600_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const s = await stats();
      if (s.count >= n) return s;
      if (Date.now() > until) throw new Error(`only ${s.count}/${n} delivered`);
      await sleep(50);
    }
  };

  try {
    // 1. Raw limit.
    const raw = fork(self, ["raw"], { env: { ...process.env, ...env }, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const rawResult = (await once(raw, (m) => "ms" in m)) as { ms: number; rss: number; cpu: number };
    const rawRate = (N / rawResult.ms) * 1000;
    const rawBytes = (await stats()).bytes / N;
    console.log(`raw limit: ${N} pre-built raw messages via pooled nodemailer in ${(rawResult.ms / 1000).toFixed(2)} s = ${rawRate.toFixed(0)}/s (${(rawBytes / 1024).toFixed(1)} KB each, peak RSS ${rawResult.rss.toFixed(0)} MB)`);
    await ask(sink, { cmd: "reset" }, (m) => "reset" in m);

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
    const accepted1 = await load(drainIds);
    const workers = await Promise.all(Array.from({ length: WORKERS }, () => startApp("worker")));
    const cpu0 = { pg: cpuOf(["postgres"]), redis: cpuOf(["redis-server"]), sink: cpuMs(sink.pid!), workers: workers.map((w) => cpuMs(w.pid!)) };
    const d = await waitDelivered(N);
    const drainRate = ((d.count - 1) / (d.last - d.first)) * 1000;
    const per = (ms: number) => `${((ms / N) * 1000).toFixed(0)} µs`;
    const wcpu = workers.reduce((a, w, i) => a + cpuMs(w.pid!) - cpu0.workers[i], 0);
    console.log(`drain:     accepted ${N} in ${(accepted1.ms / 1000).toFixed(2)} s = ${((N / accepted1.ms) * 1000).toFixed(0)}/s (API alone, ${accepted1.failed} non-202); delivered ${d.count} in ${((d.last - d.first) / 1000).toFixed(2)} s = ${drainRate.toFixed(0)}/s = ${((drainRate / rawRate) * 100).toFixed(0)}% of raw, duplicates ${d.dupes}, ${(d.bytes / d.count / 1024).toFixed(1)} KB each`);
    console.log(`drain CPU per delivered message: workers ${per(wcpu)}, PostgreSQL ${per(cpuSince(cpu0.pg, ["postgres"]))}, Redis ${per(cpuSince(cpu0.redis, ["redis-server"]))}, sink ${per(cpuMs(sink.pid!) - cpu0.sink)}; raw process ${per(rawResult.cpu)} (incl. building the messages)`);
    await ask(sink, { cmd: "reset" }, (m) => "reset" in m);

    // 3. Pipelined: accept with the workers running (BENCH_SKIP_PIPELINED=1 skips it, e.g. to profile the drain).
    if (process.env.BENCH_SKIP_PIPELINED) throw new Skip();
    const t0 = performance.now();
    const accepted2 = await load(customerIds.slice(0, N));
    const p = await waitDelivered(N);
    const endToEnd = p.last - p.first;
    const totalMs = performance.now() - t0 - (p.now - p.last);
    const pipeRate = (N / totalMs) * 1000;
    console.log(`pipelined: accepted ${N} in ${(accepted2.ms / 1000).toFixed(2)} s = ${((N / accepted2.ms) * 1000).toFixed(0)}/s (${accepted2.failed} non-202); delivered ${p.count}, first request to last delivery ${(totalMs / 1000).toFixed(2)} s = ${pipeRate.toFixed(0)}/s = ${((pipeRate / rawRate) * 100).toFixed(0)}% of raw (first to last delivery ${(endToEnd / 1000).toFixed(2)} s), duplicates ${p.dupes}`);

    const { rows } = await pool.query("SELECT status, count(*)::int AS n FROM messages GROUP BY status ORDER BY status");
    console.log(`messages by status: ${rows.map((r: { status: string; n: number }) => `${r.status}=${r.n}`).join(", ")}`);
    const mem = [`api ${peakRss(api.pid!).toFixed(0)} MB (cpu ${(cpuMs(api.pid!) / 1000).toFixed(1)} s)`,
      ...workers.map((w, i) => `worker${i + 1} ${peakRss(w.pid!).toFixed(0)} MB (cpu ${(cpuMs(w.pid!) / 1000).toFixed(1)} s)`),
      `sink cpu ${(cpuMs(sink.pid!) / 1000).toFixed(1)} s`, `bench/load generator ${peakRss(process.pid).toFixed(0)} MB`];
    console.log(`peak RSS: ${mem.join(", ")}`);
    agent.destroy();
  } catch (err) {
    if (!(err instanceof Skip)) throw err;
  } finally {
    for (const c of children.reverse()) c.kill("SIGTERM");
    await sleep(1500);
    await closeDb();
    const admin = new (await import("pg")).default.Client({ connectionString: `${server}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
    const { createRedis } = await import("../src/platform/redis.ts");
    const r = createRedis();
    const keys = await r.keys(`${env.QUEUE_PREFIX}:*`);
    for (let i = 0; i < keys.length; i += 500) await r.del(...keys.slice(i, i + 500));
    await r.quit();
    process.exit(0);
  }
}

class Skip extends Error {}

function once(child: ChildProcess, match: (m: any) => boolean): Promise<unknown> {
  return new Promise((resolve) => {
    const on = (m: any) => {
      if (match(m)) {
        child.off("message", on);
        resolve(m);
      }
    };
    child.on("message", on);
  });
}

function ask(child: ChildProcess, msg: object, match: (m: any) => boolean): Promise<unknown> {
  const p = once(child, match);
  child.send(msg);
  return p;
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
