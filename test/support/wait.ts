// Waiting in tests: sleep, poll a condition with a deadline, pick a free TCP port.
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

/** A port nothing listens on right now (taken and released). */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

/** A port bound now and kept: pass the server to `listen()` to serve on it (node:net listen(handle)). */
export const holdPort = () =>
  new Promise<Server>((resolve, reject) => {
    const s = createServer();
    s.once("error", reject).listen(0, "127.0.0.1", () => resolve(s));
  });
