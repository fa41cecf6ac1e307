// Waiting in tests (and benchmarks): sleep, poll a condition with a deadline, pick a free TCP port.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it is true; throws naming `what` after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000, everyMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/*
 * Test ports come from below the kernel's ephemeral range: a port picked there (listen(0)) and bound
 * again later can meanwhile become the local port of any outgoing connection (to PostgreSQL, Redis,
 * SMTP ...), and the later bind fails with EADDRINUSE. Below the range only another explicit bind can
 * take it, which the random pick makes unlikely and the bind test below rules out at pick time.
 */
const ephemeralLow = (() => {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
})();
const LOWEST = 10_000;

function bindAt(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(null)).listen(port, "127.0.0.1", () => resolve(s));
  });
}

/** A port bound now and kept: pass the server to `listen()` to serve on it (node:net listen(handle)). */
export async function holdPort(): Promise<Server> {
  for (let i = 0; i < 50 && ephemeralLow > LOWEST + 1000; i++) {
    const s = await bindAt(LOWEST + Math.floor(Math.random() * (ephemeralLow - LOWEST)));
    if (s) return s;
  }
  const s = await bindAt(0);
  if (!s) throw new Error("no free TCP port");
  return s;
}

/** A port nothing listens on right now (bound and released), for a child process to listen on. */
export async function freePort(): Promise<number> {
  const s = await holdPort();
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}
