// The send route is dispatched without the router's walk (src/api/direct-dispatch.ts): it must run
// exactly the layers the router would, answer errors through the same problem+json middleware, and
// leave every other request to the router.
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/api/app.ts";
import { authenticated } from "../src/api/auth.ts";
import { resolveRoute } from "../src/api/direct-dispatch.ts";
import { measure } from "../src/api/handlers/metrics.ts";
import { problemMiddleware } from "../src/api/problem.ts";
import { listen } from "../src/api/server.ts";
import { createCustomer, createTemplate, createTopic } from "./support/fixtures.ts";
import { useHarness } from "./support/harness.ts";

const h = useHarness({ workers: false });

let app: ReturnType<typeof createApp>;
let server: Server;
let base: string;
let routerCalls = 0;
const bornWithPrototypes: boolean[] = [];

beforeAll(async () => {
  app = createApp();
  const router = (app as any).router;
  const handle = router.handle.bind(router);
  router.handle = (...args: unknown[]) => {
    routerCalls++;
    return handle(...args);
  };
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

describe("direct dispatch of POST /v1/messages", () => {
  it("when the app is built, then the send route resolves to the router's own layers, in the router's order", () => {
    const stack = (app as any).router.stack;
    const r = resolveRoute(stack, "POST", "/v1/messages");
    expect(r).not.toBeNull();
    expect(r!.route.path).toBe("/v1/messages");
    expect(r!.handlers[0]).toBe(measure);
    expect(r!.handlers[1]).toBe(authenticated);
    expect(r!.handlers.slice(2)).toEqual(r!.route.stack.map((l: any) => l.handle));
    expect(r!.handlers.length).toBeGreaterThanOrEqual(5); // guard, body parser(s), handler
    expect(r!.onError).toEqual([problemMiddleware]);
  });

  it("when a route has parameters or no route matches, then nothing is resolved (the router keeps it)", () => {
    const stack = (app as any).router.stack;
    expect(resolveRoute(stack, "GET", "/v1/messages/0190a4b2-0000-7000-8000-000000000000")).toBeNull();
    expect(resolveRoute(stack, "POST", "/v1/no-such-route")).toBeNull();
  });

  it("when sends arrive, then they bypass the router with the router's answers; a query string or another route takes the router", async () => {
    const topic = await createTopic(h, "transactional", "Receipts");
    const tpl = await createTemplate(h, { subject: "Receipt", html: "<p>Thanks {{customer.name}}</p>" });
    const c = await createCustomer(h);
    const dev = await h.keyFor("developer");
    const body = JSON.stringify({ to: { customerId: c.id }, template: tpl.key, topic: topic.key });
    expect(routerCalls).toBe(0);

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
    expect(routerCalls).toBe(0);

    // The metrics name the route, as when the router matched it.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(routerCalls).toBe(1);
    expect(metrics).toMatch(/rapport_http_request_duration_seconds_count\{[^}]*route="\/v1\/messages"[^}]*status="401"/);

    const viaRouter = await post("/v1/messages?x=1", body, dev);
    expect(viaRouter.status).toBe(202);
    expect(routerCalls).toBe(2);
  });

  it("when the server takes a request, then the request and response are born with the app's prototypes (no per-request switch)", async () => {
    const before = bornWithPrototypes.length;
    const r = await fetch(`${base}/healthz`);
    expect(r.status).toBe(200);
    expect(bornWithPrototypes.length).toBe(before + 1);
    expect(bornWithPrototypes.every(Boolean)).toBe(true);
  });
});
