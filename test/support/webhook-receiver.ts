// A real HTTP server that receives webhooks, records headers and raw bodies, and answers with
// scripted status codes (500, 410 ...) before falling back to 200.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { afterAll, beforeAll } from "vitest";
import { startHarness, type Harness } from "./harness.ts";

export interface ReceivedHook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export class WebhookReceiver {
  readonly received: ReceivedHook[] = [];
  private scripted: number[] = [];
  private server: Server;
  port = 0;

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        this.received.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() });
        const status = this.scripted.shift() ?? 200;
        res.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "ok" : `status ${status} from customer@example.com`);
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  url(path = "/hook"): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** The next requests are answered with these status codes, in order. */
  answer(...codes: number[]): void {
    this.scripted.push(...codes);
  }

  /** Hooks received on `path` (each test uses its own path). */
  on(path: string): ReceivedHook[] {
    return this.received.filter((r) => r.path === path);
  }

  async waitFor(path: string, count = 1, timeoutMs = 15_000): Promise<ReceivedHook[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const got = this.on(path);
      if (got.length >= count) return got;
      if (Date.now() > until) throw new Error(`timed out waiting for ${count} webhook(s); got ${got.length}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** The engine (harness) and a receiver for the test file: filled in beforeAll, closed in afterAll. */
export function harnessWithReceiver(): { h: Harness; rx: WebhookReceiver } {
  const ctx = {} as { h: Harness; rx: WebhookReceiver };
  beforeAll(async () => {
    ctx.rx = await new WebhookReceiver().start();
    ctx.h = await startHarness();
  });
  afterAll(async () => {
    await ctx.h.close();
    await ctx.rx.close();
  });
  return ctx;
}
