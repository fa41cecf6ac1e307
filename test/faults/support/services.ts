// Private PostgreSQL and Redis for the fault suite: a throw-away PostgreSQL 15 cluster and a
// redis-server on free ports, so that stopping or restarting them cannot disturb the other test
// files (which share :5432 and :6379). See /work/shared/ENVIRONMENT.md, "Fault tests".
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, sleep, waitUntil } from "../../support/wait.ts";

const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

/** Runs a PostgreSQL binary as the `postgres` user (the server refuses to run as root). */
function asPostgres(bin: string, args: string[]) {
  const r = spawnSync("runuser", ["-u", "postgres", "--", join(PG_BIN, bin), ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(" ")} failed: ${r.stderr || r.stdout}`);
}

export class PrivatePostgres {
  private constructor(readonly dir: string, readonly port: number) {}

  static async start(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), "rapport-fault-pg-"));
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
    asPostgres("initdb", ["-D", join(dir, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"]);
    const pg = new PrivatePostgres(dir, await freePort());
    pg.ctl("start");
    return pg;
  }

  get serverUrl(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}`;
  }

  private ctl(action: "start" | "stop" | "restart") {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
    asPostgres("pg_ctl", ["-D", join(this.dir, "data"), "-o", opts, "-l", join(this.dir, "log"), "-m", "fast", "-w", action]);
  }

  stop(): void {
    this.ctl("stop");
  }

  start(): void {
    this.ctl("start");
  }

  async destroy(): Promise<void> {
    try {
      this.ctl("stop");
    } catch {
      /* already stopped */
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class PrivateRedis {
  private constructor(readonly dir: string, readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const r = new PrivateRedis(mkdtempSync(join(tmpdir(), "rapport-fault-redis-")), await freePort());
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  private get pidFile() {
    return join(this.dir, "redis.pid");
  }

  async start(): Promise<void> {
    rmSync(this.pidFile, { force: true });
    execFileSync("redis-server", ["--daemonize", "yes", "--bind", "127.0.0.1", "--port", String(this.port), "--save", "", "--appendonly", "no",
      "--dir", this.dir, "--pidfile", this.pidFile, "--logfile", join(this.dir, "log")]);
    await waitUntil(() => spawnSync("redis-cli", ["-p", String(this.port), "ping"], { encoding: "utf8" }).stdout.trim() === "PONG", "redis to answer", 10_000);
  }

  /** Stops the server; nothing is kept (no persistence), so a start afterwards is an empty Redis. */
  async stop(): Promise<void> {
    let pid = 0;
    try {
      pid = Number(readFileSync(this.pidFile, "utf8").trim());
    } catch {
      return;
    }
    process.kill(pid, "SIGKILL");
    await waitUntil(() => !alive(pid), "redis to exit", 10_000);
    await sleep(50);
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
