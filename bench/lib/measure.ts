// Measuring processes from /proc: peak RSS, CPU time per pid and per process name (PostgreSQL, Redis),
// and the small IPC helpers the benchmarks use to talk to their child processes.
import type { ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export function peakRss(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return 0;
  }
}

/** CPU ms per pid of every process whose command starts with one of `names` (PostgreSQL, Redis). */
export function cpuOf(names: string[]): Map<number, number> {
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
export function cpuSince(before: Map<number, number>, names: string[]): number {
  let total = 0;
  for (const [pid, ms] of cpuOf(names)) total += ms - (before.get(pid) ?? 0);
  return total;
}

export function once(child: ChildProcess, match: (m: any) => boolean): Promise<unknown> {
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

export function ask(child: ChildProcess, msg: object, match: (m: any) => boolean): Promise<unknown> {
  const p = once(child, match);
  child.send(msg);
  return p;
}

/** BENCH_NODE_ARGS: flags for the engine's node processes, also those NODE_OPTIONS refuses (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", "--log-deopt"). */
export const benchNodeArgs = () => (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
