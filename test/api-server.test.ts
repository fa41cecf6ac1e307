// The HTTP server (src/api/server.ts) builds requests and responses with the app's prototypes, so
// Express never switches them per request; the send route still answers as the route table says.
import type { Server } from "node:http";
import { createServer as createNetServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/api/app.ts";
import { listen } from "../src/api/server.ts";
import { createCustomer, createTemplate, createTopic } from "./support/fixtures.ts";
import { useHarness } from "./support/harness.ts";
import { holdPort } from "./support/wait.ts";

const h = useHarness({ workers: false });

let app: ReturnType<typeof createApp>;
let server: Server;
let base: string;
const bornWithPrototypes: boolean[] = [];

beforeAll(async () => {
  app = createApp();
  server = await listen(app, 0, "127.0.0.1");
  // Runs before the app: what the server constructed, before Express touches it.
  server.prependListener("request", (req, res) => {
    bornWithPrototypes.push(Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response);
  });
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

const post = (path: string, body: string, key?: string) =>
  fetch(base + path, { method: "POST", body, headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) } });

describe("the API's HTTP server", () => {
  it("when sends arrive, then each is answered as the route table says, errors as problem+json, under the route's metrics label", async () => {
    const topic = await createTopic(h, "transactional", "Receipts");
    const tpl = await createTemplate(h, { subject: "Receipt", html: "<p>Thanks {{customer.name}}</p>" });
    const c = await createCustomer(h);
    const dev = await h.keyFor("developer");
    const body = JSON.stringify({ to: { customerId: c.id }, template: tpl.key, topic: topic.key });

    const ok = await post("/v1/messages", body, dev);
    expect(ok.status).toBe(202);
    expect(ok.headers.get("location")).toMatch(/^\/v1\/messages\//);
    // Errors thrown by an async layer (authentication), passed by the body parser, thrown by the
    // handler's validation: each answered as problem+json.
    const noKey = await post("/v1/messages", body);
    expect(noKey.status).toBe(401);
    expect(noKey.headers.get("www-authenticate")).toContain("Bearer");
    expect(noKey.headers.get("content-type")).toContain("application/problem+json");
    const badJson = await post("/v1/messages", "{", dev);
    expect(badJson.status).toBe(400);
    expect(badJson.headers.get("content-type")).toContain("application/problem+json");
    const invalid = await post("/v1/messages", JSON.stringify({ to: {} }), dev);
    expect(invalid.status).toBe(400);
    expect((await invalid.json()).errors.length).toBeGreaterThan(0);
    const forbidden = await post("/v1/messages", body, await h.keyFor("marketer"));
    expect(forbidden.status).toBe(403);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/rapport_http_request_duration_seconds_count\{[^}]*route="\/v1\/messages"[^}]*status="403"/);

    const withQuery = await post("/v1/messages?x=1", body, dev);
    expect(withQuery.status).toBe(202);
  });

  it("when the server takes a request, then the request and response are born with the app's prototypes (no per-request switch)", async () => {
    const before = bornWithPrototypes.length;
    const r = await fetch(`${base}/healthz`);
    expect(r.status).toBe(200);
    expect(bornWithPrototypes.length).toBe(before + 1);
    expect(bornWithPrototypes.every(Boolean)).toBe(true);
  });

  it("when listen is given a held socket, then it serves on that port, which nothing could bind in between", async () => {
    const held = await holdPort();
    const port = (held.address() as { port: number }).port;
    const other = createNetServer();
    const bound = await new Promise<string>((r) => other.once("error", (e: NodeJS.ErrnoException) => r(e.code ?? "error")).listen(port, "127.0.0.1", () => r("bound")));
    if (bound === "bound") other.close();
    expect(bound).toBe("EADDRINUSE");

    const taken = await listen(createApp(), held, "127.0.0.1");
    try {
      expect((taken.address() as { port: number }).port).toBe(port);
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(res.status).toBe(200);
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
  });
});
