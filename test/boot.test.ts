// The README's first command, for real: `src/main.ts` in child processes on a database that does not
// exist yet, no SMTP_URL (embedded outbox), no RAPPORT_SECRET (generated once), two processes starting
// at the same time (API+workers and a worker alone), then a clean SIGTERM.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, sleep } from "./support/wait.ts";

const server = "postgresql://postgres@127.0.0.1:5432";
const dbName = `rapport_boot_${randomBytes(4).toString("hex")}`;
const admin = `boot-admin-key-${randomBytes(12).toString("hex")}`;
const children: ChildProcess[] = [];


function start(env: Record<string, string>): ChildProcess & { output: string[] } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SMTP_URL|RAPPORT_|DATABASE_|QUEUE_PREFIX|PORT|HOST|NODE_ENV|DEV_SMTP_PORT)/.test(k)));
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], { env: { ...clean, ...env }, stdio: ["ignore", "pipe", "pipe"] }) as ChildProcess & { output: string[] };
  child.output = [];
  child.stdout!.on("data", (d) => child.output.push(String(d)));
  child.stderr!.on("data", (d) => child.output.push(String(d)));
  children.push(child);
  return child;
}

/** What every process of a test shares: this file's database and admin key, its own queue prefix and outbox port. */
const commonEnv = (smtpPort: number) => ({
  DATABASE_URL: `${server}/${dbName}`, QUEUE_PREFIX: `boot${randomBytes(4).toString("hex")}`, RAPPORT_ADMIN_KEY: admin,
  DEV_SMTP_PORT: String(smtpPort), LOG_LEVEL: "warn", NODE_ENV: "development",
});

/** The last /readyz status once it is 200, the process exited, or 60 s passed. */
async function readyStatus(base: string, api: ChildProcess): Promise<number> {
  let ready = 0;
  for (let i = 0; i < 240 && ready !== 200 && api.exitCode === null; i++) {
    ready = await fetch(`${base}/readyz`).then((r) => r.status, () => 0);
    if (ready !== 200) await sleep(250);
  }
  return ready;
}

const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once("exit", (code) => r(code))));

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  const client = new pg.Client({ connectionString: `${server}/postgres` });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await client.end();
});

describe("boot", () => {
  it("when two processes start on a new database with no SMTP_URL, then both come up, mail lands in the dev outbox, and SIGTERM exits cleanly", async () => {
    const [port, smtpPort] = [await freePort(), await freePort()];
    const common = commonEnv(smtpPort);
    const api = start({ ...common, PORT: String(port), HOST: "127.0.0.1" });
    const worker = start({ ...common, RAPPORT_ROLE: "worker", PORT: "0" });
    const base = `http://127.0.0.1:${port}`;
    expect(await readyStatus(base, api), api.output.join("")).toBe(200);
    expect(worker.exitCode, worker.output.join("")).toBeNull();

    const call = (method: string, path: string, body?: unknown) =>
      fetch(base + path, { method, headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: body ? JSON.stringify(body) : undefined }).then((r) => r.json());
    await call("POST", "/v1/topics", { key: "welcome", name: "Welcome news", kind: "marketing", doubleOptIn: true });
    const customer = await call("POST", "/v1/customers", { email: "newcomer@example.com", name: "New" });
    expect((await call("PUT", `/v1/customers/${customer.id}/consents/welcome`, { status: "opted_in", source: "boot-test" })).status).toBe("pending");

    let outbox: any[] = [];
    for (let i = 0; i < 100 && outbox.length === 0; i++) {
      outbox = (await fetch(`${base}/dev/outbox`, { headers: { accept: "application/json" } }).then((r) => r.json())).data;
      if (outbox.length === 0) await sleep(200);
    }
    expect(outbox[0]).toMatchObject({ subject: expect.stringContaining("Welcome news"), to: ["newcomer@example.com"] });

    api.kill("SIGTERM");
    worker.kill("SIGTERM");
    const t0 = Date.now();
    const codes = await Promise.all([exited(api), exited(worker)]);
    expect(codes, `api: ${api.output.join("")}\nworker: ${worker.output.join("")}`).toEqual([0, 0]);
    expect(Date.now() - t0).toBeLessThan(15_000);
  }, 120_000);

  it("when a process starts in the api role, then its template preparation thread is already running before any request needs one", async () => {
    const [port, smtpPort] = [await freePort(), await freePort()];
    const api = start({ ...commonEnv(smtpPort), RAPPORT_ROLE: "api", PORT: String(port), HOST: "127.0.0.1" });
    const base = `http://127.0.0.1:${port}`;
    expect(await readyStatus(base, api), api.output.join("")).toBe(200);
    // Precondition: nothing so far asked for a template to be prepared (no request but /readyz).
    const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
    expect(metrics).toContain("# TYPE rapport_template_threads gauge");
    // Without warm-up, the first preview or schedule would start it: ~0.5 s of CPU in that request.
    expect(/^rapport_template_threads (\d+)$/m.exec(metrics)?.[1]).toBe("1");
    api.kill("SIGTERM");
    expect(await exited(api), api.output.join("")).toBe(0);
  }, 60_000);
});
