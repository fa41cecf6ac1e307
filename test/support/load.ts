// Runs test/support/upload-load.mjs in a child process: N concurrent POSTs of generated bodies.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface LoadSpec {
  url: string;
  count: number;
  bytes: number;
  contentType: string;
  kind: "json-array" | "csv" | "json-import";
  /** API keys, used round-robin (request i gets keys[i % n]). */
  keys?: string[];
  tag?: string;
  /** Import bodies: rows per body (default 9,000), padded to `bytes`. */
  rows?: number;
}
export interface LoadResult {
  statuses: Array<{ status: number | "error"; body: string }>;
  ms: number;
  /** Size of each body sent. */
  bytes: number[];
}

/** Starts the child, waits until its bodies are built, and returns a function that fires them. */
export async function prepareLoad(spec: LoadSpec): Promise<() => Promise<LoadResult>> {
  const child = fork(fileURLToPath(new URL("./upload-load.mjs", import.meta.url)), [JSON.stringify(spec)], { stdio: "inherit" });
  await new Promise<void>((resolve, reject) => {
    child.once("message", () => resolve());
    child.once("exit", (code) => reject(new Error(`load generator exited with ${code}`)));
  });
  return async () => {
    const done = new Promise<LoadResult>((resolve, reject) => {
      child.once("message", (m) => resolve(m as LoadResult));
      child.once("exit", (code) => reject(new Error(`load generator exited with ${code}`)));
    });
    child.send("go");
    try {
      return await done;
    } finally {
      child.kill();
    }
  };
}

/** Samples GET url every `everyMs` until `until` settles; returns the latencies in ms. */
export async function sampleLatency(url: string, until: Promise<unknown>, everyMs = 25): Promise<number[]> {
  let settled = false;
  void until.finally(() => (settled = true)).catch(() => undefined);
  const out: number[] = [];
  while (!settled) {
    const t = performance.now();
    const r = await fetch(url);
    await r.arrayBuffer();
    out.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return out;
}

export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
