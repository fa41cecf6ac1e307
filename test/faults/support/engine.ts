// The engine as separate processes for the fault suite: one API and N workers started through the
// real entry point (src/main.ts, RAPPORT_ROLE=api|worker) against a private PostgreSQL and Redis,
// delivering into an SMTP sink in the test process. Plus the test's own view: a pg pool on the
// private database, an HTTP client that counts 5xx answers, and seeding through the API.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { lateBound } from "../../support/late-bound.ts";
import { SmtpSink } from "../../support/smtp-sink.ts";
import { freePort, sleep, waitUntil } from "../../support/wait.ts";
import { PrivatePostgres, PrivateRedis } from "./services.ts";

export interface Proc {
  role: "api" | "worker";
  child: ChildProcess;
  output: string[];
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  body: any;
}

/** Not exited and not killed. */
export const isRunning = (p: Proc) => p.child.exitCode === null && p.child.signalCode === null;

const ADMIN_KEY = `fault-admin-key-${randomBytes(12).toString("hex")}`;

export class Engine {
  readonly procs: Proc[] = [];
  /** Every HTTP status the test saw from the API, counted (a 5xx other than 503 is a bug). */
  readonly statuses = new Map<number, number>();
  readonly db: pg.Pool;
  private readonly env: Record<string, string>;

  private constructor(readonly postgres: PrivatePostgres, readonly redis: PrivateRedis, readonly sink: SmtpSink, readonly port: number, env: Record<string, string>) {
    const dbName = "rapport_fault";
    this.env = {
      // development, not test: the logger keeps "info" (the start-up line shows that a process is up).
      NODE_ENV: "development", DATABASE_URL: `${postgres.serverUrl}/${dbName}`, DATABASE_POOL_SIZE: "8", REDIS_URL: redis.url, QUEUE_PREFIX: "fault",
      SMTP_URL: sink.url, RAPPORT_SECRET: randomBytes(24).toString("hex"), RAPPORT_ADMIN_KEY: ADMIN_KEY, PORT: String(port), HOST: "127.0.0.1",
      RAPPORT_PUBLIC_URL: `http://127.0.0.1:${port}`, LOG_LEVEL: "info", SMTP_RATE_PER_SECOND: "100000",
      // Fast retries and a quick sweep so that recovery shows within a test's time. The claim timeout
      // stays well above what one hand-off can take on a loaded machine (a claim released while its
      // message still waits in nodemailer's pool is sent twice: 8 s gave 2 duplicates in 300).
      SEND_RETRY_BASE_MS: "50", SEND_RETRY_MAX_MS: "500", SEND_CLAIM_TIMEOUT_MS: "30000", SEND_SWEEP_INTERVAL_MS: "1000", SEND_SWEEP_QUEUED_AFTER_MS: "3000",
      ...env,
    };
    this.db = new pg.Pool({ connectionString: this.env.DATABASE_URL, max: 3 });
    this.db.on("error", () => undefined); // PostgreSQL restarts in some cases
  }

  /** Private services, an API process (which creates and migrates the database) and `workers` workers. */
  static async start(sink: SmtpSink, opts: { workers: number; env?: Record<string, string> }): Promise<Engine> {
    const [pgServer, redis] = await Promise.all([PrivatePostgres.start(), PrivateRedis.start()]);
    const e = new Engine(pgServer, redis, sink, await freePort(), opts.env ?? {});
    try {
      await e.startProc("api");
      await Promise.all(Array.from({ length: opts.workers }, () => e.startProc("worker")));
    } catch (err) {
      await e.stop();
      throw err;
    }
    return e;
  }

  /** The processes still running. */
  get running(): Proc[] {
    return this.procs.filter(isRunning);
  }

  get workers(): Proc[] {
    return this.running.filter((p) => p.role === "worker");
  }

  async startProc(role: "api" | "worker"): Promise<Proc> {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SMTP_|RAPPORT_|DATABASE_|REDIS_|QUEUE_PREFIX|PORT$|HOST$|SEND_|NODE_ENV|LOG_LEVEL|VITEST)/.test(k)));
    const env = { ...clean, ...this.env, RAPPORT_ROLE: role, ...(role === "worker" ? { PORT: "0" } : {}) };
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], { env, stdio: ["ignore", "pipe", "pipe"] });
    const p: Proc = { role, child, output: [] };
    const keep = (d: Buffer) => {
      p.output.push(String(d));
      if (p.output.length > 200) p.output.splice(0, 100);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    this.procs.push(p);
    await waitUntil(() => p.output.join("").includes("rapport started") || child.exitCode !== null, `${role} to start`, 240_000, 100);
    if (child.exitCode !== null) throw new Error(`${role} exited with ${child.exitCode}:\n${p.output.join("")}`);
    return p;
  }

  /** SIGKILL: no shutdown, no release of claims, in-flight SMTP hand-offs cut. */
  async kill(p: Proc): Promise<void> {
    if (!isRunning(p)) return;
    const gone = new Promise((r) => p.child.once("exit", r));
    p.child.kill("SIGKILL");
    await gone;
  }

  /** SIGTERM and wait for the process to exit (a graceful stop). */
  async terminate(p: Proc): Promise<void> {
    if (!isRunning(p)) return;
    const gone = new Promise((r) => p.child.once("exit", r));
    p.child.kill("SIGTERM");
    await gone;
  }

  async api(method: string, path: string, body?: unknown): Promise<ApiAnswer> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`, {
      method, headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    this.statuses.set(res.status, (this.statuses.get(res.status) ?? 0) + 1);
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, headers: res.headers, body: parsed };
  }

  /** 5xx answers seen so far, by status. */
  serverErrors(): Record<number, number> {
    return Object.fromEntries([...this.statuses].filter(([s]) => s >= 500));
  }

  async stop(): Promise<void> {
    for (const p of this.running) p.child.kill("SIGKILL");
    await sleep(200);
    await this.db.end().catch(() => undefined);
    await Promise.all([this.postgres.destroy(), this.redis.destroy()]);
  }
}

export interface Audience {
  /** The customers' `cohort` attribute. */
  tag: string;
  topic: string;
  template: string;
  customers: Array<{ id: string; email: string }>;
}

/** A marketing topic, a template and n customers opted in to it, imported through the API. */
export async function seed(e: Engine, n: number, tag = randomBytes(3).toString("hex")): Promise<Audience> {
  const topic = `news-${tag}`;
  const template = `tpl-${tag}`;
  expect201(await e.api("POST", "/v1/topics", { key: topic, name: "News", kind: "marketing" }));
  expect201(await e.api("POST", "/v1/templates", { key: template, name: "T", subject: "Hello {{customer.name}}", html: "<p>Hi {{customer.name}}</p>" }));
  const emails = Array.from({ length: n }, (_, i) => `f-${tag}-${i}@example.com`);
  for (let i = 0; i < n; i += 10_000) {
    // The cohort attribute lets a campaign's rule pick exactly this seed's customers.
    const customers = emails.slice(i, i + 10_000).map((email) => ({ email, name: "Fay", attributes: { cohort: tag }, consents: [{ topic, status: "opted_in", source: "fault-suite", proof: "seed" }] }));
    const r = await e.api("POST", "/v1/customers/import", { customers });
    if (r.status !== 202) throw new Error(`import: ${r.status} ${JSON.stringify(r.body)}`);
    await waitUntil(async () => ["completed", "failed"].includes((await e.api("GET", `/v1/imports/${r.body.id}`)).body.status), "the import", 120_000, 250);
  }
  const { rows } = await e.db.query<{ id: string; email: string }>("SELECT id, email FROM customers WHERE email = ANY($1::text[])", [emails]);
  if (rows.length !== n) throw new Error(`seeded ${rows.length} of ${n} customers`);
  return { tag, topic, template, customers: rows };
}

function expect201(r: ApiAnswer) {
  if (r.status !== 201) throw new Error(`expected 201, got ${r.status}: ${JSON.stringify(r.body)}`);
}

/** POST /v1/messages for each customer, `concurrency` at a time; returns message id by customer id. */
export async function sendAll(e: Engine, a: Audience, customers = a.customers, concurrency = 32): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < customers.length) {
      const c = customers[next++];
      const r = await e.api("POST", "/v1/messages", { to: { customerId: c.id }, template: a.template, topic: a.topic });
      if (r.status !== 202) throw new Error(`send: ${r.status} ${JSON.stringify(r.body)}`);
      ids.set(c.id, r.body.id as string);
    }
  }));
  return ids;
}

/** Message count by status among `ids`. */
export async function statusCounts(e: Engine, ids: string[]): Promise<Record<string, number>> {
  const { rows } = await e.db.query<{ status: string; n: number }>("SELECT status, count(*)::int AS n FROM messages WHERE id = ANY($1::uuid[]) GROUP BY status", [ids]);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Waits until none of `ids` is queued or sending. */
export async function settled(e: Engine, ids: string[], timeoutMs: number): Promise<Record<string, number>> {
  let counts: Record<string, number> = {};
  await waitUntil(async () => {
    counts = await statusCounts(e, ids).catch(() => ({ queued: -1 }));
    return !counts.queued && !counts.sending;
  }, `messages to settle (last: ${JSON.stringify(counts)})`, timeoutMs, 250);
  return counts;
}

/** The message id behind a Message-ID header (`<id@host>`). */
export const idOf = (messageId: string) => messageId.replace(/^<|@.*$/g, "");

/** Accepted copies per message id, from the sink. */
export function acceptedCopies(sink: SmtpSink): Map<string, number> {
  const copies = new Map<string, number>();
  for (const m of sink.received) copies.set(idOf(m.messageId), (copies.get(idOf(m.messageId)) ?? 0) + 1);
  return copies;
}

/** This file's SMTP sink (started now) and engine (started before its tests, stopped after them). */
export async function useEngine(workers: number, env?: Record<string, string>): Promise<{ sink: SmtpSink; e: Engine }> {
  const sink = await new SmtpSink({ parse: false }).start();
  const e = lateBound(() => Engine.start(sink, { workers, env }), async (x) => {
    await x.stop();
    await sink.close();
  }, "the engine", 400_000);
  return { sink, e };
}

/** Figures for the report, printed once per case. */
export const report = (what: string, figures: Record<string, unknown>) => console.log(`[faults] ${what}: ${JSON.stringify(figures)}`);
