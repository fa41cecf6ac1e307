// The engine under benchmark: a database and queue prefix of its own, the SMTP sink in its own
// process, API and worker processes started through the real entry point (src/main.ts with
// RAPPORT_ROLE), the raw baseline, and clean-up (database dropped, Redis keys removed).
import { execFileSync, fork, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { freePort } from "../../test/support/wait.ts";
import { childScript } from "./children.ts";
import { ask, benchNodeArgs, cpuMs, once, peakRss, sleep } from "./measure.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface SinkStats {
  count: number;
  first: number;
  last: number;
  dupes: number;
  bytes: number;
  /** Messages received per 250 ms since the first. */
  buckets: number[];
  now: number;
}

/** BENCH_TIMELINE=1: arrivals per 250 ms, to tell a slow start or a long tail from a slow middle. */
export function printTimeline(label: string, s: SinkStats): void {
  if (!process.env.BENCH_TIMELINE) return;
  console.log(`${label} arrivals per 250 ms: ${s.buckets.join(" ")}`);
}

/** What the raw child reports (bench/lib/children.ts; CPU in ms), and its rate per second. */
export interface RawResult {
  ms: number;
  rate: number;
  rss: number;
  /** The whole process, building included. */
  cpu: number;
  /** The timed sends. */
  sendCpu: number;
  /** Rendering and composing the n timed messages (after a first one loaded the modules). */
  buildCpu: number;
}

export interface Engine {
  env: Record<string, string>;
  dbName: string;
  port: number;
  sink: ChildProcess;
  children: ChildProcess[];
  stats(): Promise<SinkStats>;
  resetSink(): Promise<void>;
  waitDelivered(n: number, timeoutMs?: number): Promise<SinkStats>;
  startApp(role: "api" | "worker" | "all", extraEnv?: Record<string, string>): Promise<ChildProcess>;
  /** The raw limit: n pre-built messages via pooled nodemailer into the same sink; warmup other messages first, untimed. */
  raw(n: number, kind?: "marketing" | "transactional", warmup?: number): Promise<RawResult>;
  close(): Promise<void>;
}

/** As the Dockerfile and `npm run start:prod` run the engine (BENCH_APP_NODE_OPTIONS overrides). */
const PRODUCTION_NODE_OPTIONS = "--max-old-space-size=192";

export async function startEngine(overrides: Record<string, string> = {}): Promise<Engine> {
  const suffix = randomBytes(4).toString("hex");
  const dbName = `rapport_bench_${suffix}`;
  const server = process.env.BENCH_DATABASE_SERVER ?? "postgresql://postgres@127.0.0.1:5432";
  // Below the ephemeral range and free now: a random port in 39000-39999 was sometimes the local port
  // of a connection by the time the API bound it (EADDRINUSE, a send run lost).
  const port = await freePort();
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
    ...overrides,
  };
  const sink = fork(childScript, ["sink"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const sinkPort = ((await once(sink, (m) => "port" in m)) as { port: number }).port;
  env.SMTP_URL = `smtp://127.0.0.1:${sinkPort}`;
  Object.assign(process.env, env);
  if (!process.env.BENCH_SOURCE) execFileSync("npm", ["run", "build"], { cwd: root, stdio: "ignore" });
  const { ensureDatabase, migrate } = await import("../../src/platform/bootstrap.ts");
  await ensureDatabase();
  await migrate();
  const { initSecrets } = await import("../../src/platform/secrets.ts");
  initSecrets(env.RAPPORT_SECRET);

  const children: ChildProcess[] = [sink];
  const stats = () => ask(sink, { cmd: "stats" }, (m) => "count" in m) as Promise<SinkStats>;
  const e: Engine = {
    env, dbName, port, sink, children, stats,
    async resetSink() {
      await ask(sink, { cmd: "reset" }, (m) => "reset" in m);
    },
    async waitDelivered(n, timeoutMs = 900_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const s = await stats();
        if (s.count >= n) return s;
        if (Date.now() > until) throw new Error(`only ${s.count}/${n} delivered`);
        await sleep(50);
      }
    },
    startApp(appRole, extraEnv = {}) {
      // BENCH_PROFILE=dir writes a V8 CPU profile per process there (open in Chrome DevTools).
      const prof = process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
      // As in production: the compiled build (dist/, made once per run below); BENCH_SOURCE=1 runs
      // the TypeScript sources through tsx instead (start-up costs ~1 s of CPU and ~50 MB more).
      const entry = process.env.BENCH_SOURCE ? ["--import", "tsx", "src/main.ts"] : ["dist/main.js"];
      const child = spawn(process.execPath, [...prof, ...benchNodeArgs(), ...entry], {
        cwd: root, env: { ...process.env, ...env, ...extraEnv, NODE_OPTIONS: process.env.BENCH_APP_NODE_OPTIONS ?? (process.env.BENCH_SOURCE ? "" : PRODUCTION_NODE_OPTIONS), RAPPORT_ROLE: appRole, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "info" }, stdio: ["ignore", "pipe", "inherit"],
      });
      children.push(child);
      return new Promise<ChildProcess>((resolve, reject) => {
        child.stdout!.on("data", (d: Buffer) => {
          if (process.env.BENCH_LOG) process.stderr.write(d);
          if (d.toString().includes("rapport started")) resolve(child);
        });
        child.on("exit", (c) => reject(new Error(`${appRole} exited with ${c}`)));
      });
    },
    async raw(n, kind = "transactional", warmup = 0) {
      const raw = fork(childScript, ["raw"], { env: { ...process.env, ...env, BENCH_N: String(n), BENCH_RAW_KIND: kind, BENCH_RAW_WARMUP: String(warmup) }, stdio: ["ignore", "inherit", "inherit", "ipc"] });
      const r = (await once(raw, (m) => "ms" in m)) as Omit<RawResult, "rate">;
      return { ...r, rate: (n / r.ms) * 1000 };
    },
    async close() {
      for (const c of children.reverse()) c.kill("SIGTERM");
      await sleep(1500);
      const { closeDb } = await import("../../src/platform/prisma.ts");
      await closeDb();
      const admin = new (await import("pg")).default.Client({ connectionString: `${server}/postgres` });
      await admin.connect();
      // BENCH_KEEP_DB=1 keeps it for a look afterwards (EXPLAIN, pg_stat_statements).
      if (!process.env.BENCH_KEEP_DB) await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      await admin.end();
      const { createRedis } = await import("../../src/platform/redis.ts");
      const r = createRedis();
      let cursor = "0";
      do {
        const [next, keys] = await r.scan(cursor, "MATCH", `${env.QUEUE_PREFIX}:*`, "COUNT", 1000);
        if (keys.length) await r.unlink(...keys);
        cursor = next;
      } while (cursor !== "0");
      await r.quit();
    },
  };
  return e;
}

export const rssOf = (c: ChildProcess) => peakRss(c.pid!);
export const cpuOfChild = (c: ChildProcess) => cpuMs(c.pid!);
