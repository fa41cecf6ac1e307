// Private, throw-away PostgreSQL and Redis servers for fault tests (other test files share :5432 and
// :6379, so a test that stops a service must own it), and the engine as a child process pointed at
// them. See /work/shared/ENVIRONMENT.md. Everything started here is stopped by its stop()/remove().
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./wait.ts";


const PG = "/usr/lib/postgresql/15/bin";

export async function privatePostgres() {
  const dir = mkdtempSync(join(tmpdir(), "rapport-pg-"));
  chmodSync(dir, 0o700);
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
  chownSync(dir, uid, gid);
  const data = join(dir, "data");
  const asPg = (args: string[]) => execFileSync("runuser", ["-u", "postgres", "--", ...args], { stdio: "pipe" });
  asPg([`${PG}/initdb`, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"]);
  const port = await freePort();
  const ctl = (cmd: string) =>
    asPg([`${PG}/pg_ctl`, "-D", data, "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, "-l", join(dir, "log"), "-w", "-m", "fast", cmd]);
  ctl("start");
  return {
    port,
    url: (db: string) => `postgresql://postgres@127.0.0.1:${port}/${db}`,
    start: () => ctl("start"),
    stop: () => ctl("stop"),
    remove() {
      try {
        ctl("stop");
      } catch {
        /* already stopped */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function privateRedis() {
  const dir = mkdtempSync(join(tmpdir(), "rapport-redis-"));
  const port = await freePort();
  const pidfile = join(dir, "redis.pid");
  const cli = (...args: string[]) => execFileSync("redis-cli", ["-p", String(port), ...args]).toString().trim();
  const start = async () => {
    execFileSync("redis-server", ["--daemonize", "yes", "--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no", "--dir", dir, "--pidfile", pidfile]);
    for (let i = 0; i < 100; i++) {
      try {
        if (cli("ping") === "PONG") return;
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("private redis did not start");
  };
  const stop = async () => {
    try {
      cli("shutdown", "nosave");
    } catch {
      /* the connection closes as it shuts down */
    }
    for (let i = 0; i < 100; i++) {
      try {
        cli("ping");
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await start();
  return {
    port, url: `redis://127.0.0.1:${port}`, cli, start, stop,
    async remove() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type Engine = ChildProcess & { output: string[]; base: string };

/** `src/main.ts` in a child process with these settings (nothing inherited from the test's own). */
export async function startEngine(env: Record<string, string>): Promise<Engine> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SMTP_|RAPPORT_|DATABASE_|QUEUE_PREFIX|PORT|HOST|NODE_ENV|DEV_SMTP_PORT|SEND_|REDIS_URL|LOG_LEVEL)/.test(k)));
  const port = env.PORT ?? String(await freePort());
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: { ...clean, NODE_ENV: "development", HOST: "127.0.0.1", LOG_LEVEL: "warn", ...env, PORT: port },
    stdio: ["ignore", "pipe", "pipe"],
  }) as Engine;
  child.output = [];
  child.base = `http://127.0.0.1:${port}`;
  child.stdout!.on("data", (d) => child.output.push(String(d)));
  child.stderr!.on("data", (d) => child.output.push(String(d)));
  if (env.RAPPORT_ROLE !== "worker") {
    let ready = 0;
    // Generous: a fresh cluster is migrated first, and the machine may be busy.
    for (const until = Date.now() + 150_000; Date.now() < until && ready !== 200 && child.exitCode === null; ) {
      ready = await fetch(`${child.base}/readyz`).then((r) => r.status, () => 0);
      if (ready !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    if (ready !== 200) throw new Error(`engine did not become ready:\n${child.output.join("")}`);
  }
  return child;
}

export async function stopEngine(e: Engine): Promise<void> {
  // A child killed by a signal keeps exitCode null (signalCode is set): without this a second stop
  // would wait forever for an exit that already happened.
  if (e.exitCode !== null || e.signalCode !== null) return;
  const exited = new Promise((r) => e.once("exit", r));
  e.kill("SIGKILL");
  await exited;
}
