// Role enforcement on every route of the table: no key or a bad key is 401, a role the route does
// not admit is 403 — checked by walking the real router, so a new route cannot forget its guard.
import { describe, expect, it } from "vitest";
import { routes } from "../src/api/routes.ts";
import { rid, useHarness } from "./support/harness.ts";

const h = useHarness({ workers: false });

interface RouteInfo { method: string; path: string; roles: string[] | null }

function table(): RouteInfo[] {
  const out: RouteInfo[] = [];
  for (const layer of (routes() as any).stack) {
    const route = layer.route;
    if (!route) continue;
    const guard = route.stack.find((l: any) => Array.isArray(l.handle?.roles));
    for (const method of Object.keys(route.methods)) {
      out.push({ method: method.toUpperCase(), path: route.path, roles: guard ? guard.handle.roles : null });
    }
  }
  return out;
}

const concrete = (path: string) =>
  path.replace(/:(\w+)/g, (_m, name: string) => (name === "id" ? "0190a4b2-0000-7000-8000-000000000000" : `x${name}`));

const isPublic = (p: string) => !p.startsWith("/v1/");

// Written from shared/API.md, independently of routes.ts: admin everything; marketer topics,
// personas, templates (write), reads customers, messages and stats; developer customers, consents,
// send and read messages, read templates. (Reading topics is extended to developers: they name
// topics when sending.)
const A = ["admin"], AM = ["admin", "marketer"], AD = ["admin", "developer"], AMD = ["admin", "marketer", "developer"];
const expected: Record<string, string[]> = {
  "POST /v1/api-keys": A, "GET /v1/api-keys": A, "DELETE /v1/api-keys/:id": A,
  "POST /v1/topics": AM, "GET /v1/topics": AMD, "GET /v1/topics/:key": AMD, "PATCH /v1/topics/:key": AM,
  "POST /v1/customers/import": AD, "GET /v1/imports/:id": AD,
  "POST /v1/customers": AD, "GET /v1/customers": AMD, "GET /v1/customers/:id": AMD, "PATCH /v1/customers/:id": AD,
  "DELETE /v1/customers/:id": AD, "GET /v1/customers/:id/timeline": AMD, "GET /v1/customers/:id/consents": AMD,
  "PUT /v1/customers/:id/consents/:topicKey": AD, "GET /v1/customers/:id/consent-events": AMD,
  "GET /v1/customers/:id/consent-events/verify": AMD,
  // The customer's cadence and pause: like consents (issue 11). Feedback: marketers (API.md).
  "GET /v1/customers/:id/cadence": AMD, "PUT /v1/customers/:id/cadence": AD, "GET /v1/feedback": AM,
  "POST /v1/personas": AM, "GET /v1/personas": AM, "GET /v1/personas/:key": AM, "PATCH /v1/personas/:key": AM,
  "DELETE /v1/personas/:key": AM, "GET /v1/personas/:key/customers": AM,
  "POST /v1/templates": AM, "GET /v1/templates": AMD, "GET /v1/templates/:key": AMD, "POST /v1/templates/:key/versions": AM,
  "GET /v1/templates/:key/versions": AMD, "GET /v1/templates/:key/versions/:n": AMD, "POST /v1/templates/:key/preview": AMD,
  "POST /v1/messages": AD, "GET /v1/messages": AMD, "GET /v1/messages/:id": AMD,
  // Inbound (API.md names no roles: the developers who wire their MTA or ESP, and admins)
  "POST /v1/inbound/bounces": AD, "POST /v1/inbound/mime": AD, "GET /v1/messages/:id/replies": AMD,
  "POST /v1/campaigns": AM, "GET /v1/campaigns": AM, "GET /v1/campaigns/:id": AM, "PATCH /v1/campaigns/:id": AM,
  "GET /v1/campaigns/:id/audience": AM, "GET /v1/campaigns/:id/stats": AM, "POST /v1/campaigns/:id/schedule": AM,
  "POST /v1/campaigns/:id/pause": AM, "POST /v1/campaigns/:id/resume": AM, "POST /v1/campaigns/:id/cancel": AM,
  "POST /v1/webhooks": A, "GET /v1/webhooks": A, "GET /v1/webhooks/:id": A, "PATCH /v1/webhooks/:id": A,
  "DELETE /v1/webhooks/:id": A, "POST /v1/webhooks/:id/rotate-secret": A, "POST /v1/webhooks/:id/test": A,
  "GET /v1/webhooks/:id/deliveries": A, "POST /v1/webhooks/:id/deliveries/:deliveryId/replay": A,
};

describe("auth", () => {
  it("when the route table is compared with the roles of API.md, then every /v1 route admits exactly the expected roles", () => {
    const actual = Object.fromEntries(table().filter((r) => !isPublic(r.path)).map((r) => [`${r.method} ${r.path}`, r.roles]));
    for (const [route, roles] of Object.entries(expected)) expect(actual[route], route).toEqual(roles);
    expect(Object.keys(actual).filter((k) => !(k in expected)), "routes missing from the expected matrix").toEqual([]);
  });

  it("when an admitted role reads a list, then it gets through (200)", async () => {
    const keys = { marketer: await h.keyFor("marketer"), developer: await h.keyFor("developer") };
    for (const route of ["/v1/topics", "/v1/customers", "/v1/templates", "/v1/messages"]) {
      for (const role of ["marketer", "developer"] as const) {
        if (!expected[`GET ${route}`].includes(role)) continue;
        expect((await h.api("GET", route, undefined, { key: keys[role] })).status, `${role} GET ${route}`).toBe(200);
      }
    }
    expect((await h.api("GET", "/v1/personas", undefined, { key: keys.marketer })).status).toBe(200);
  });

  it("when the route table is read, then every /v1 route has a role guard and public routes have none", () => {
    const routesSeen = table();
    const pub = routesSeen.filter((r) => isPublic(r.path));
    const v1 = routesSeen.filter((r) => !isPublic(r.path));
    // Precondition: the walk sees both kinds (the public pages a customer opens from an email among them).
    expect(v1.length).toBeGreaterThan(10);
    expect(pub.map((r) => `${r.method} ${r.path}`)).toEqual(expect.arrayContaining(["GET /healthz", "GET /u/:token", "POST /confirm/:token", "POST /preferences/:token"]));
    for (const r of v1) expect(r.roles, `${r.method} ${r.path} has no allow() guard`).not.toBeNull();
    for (const r of pub) expect(r.roles, `${r.method} ${r.path} is public but has a role guard`).toBeNull();
  });

  it("when any /v1 route is called without a key or with an unknown key, then 401 problem+json", async () => {
    for (const r of table().filter((x) => !isPublic(x.path))) {
      const none = await h.api(r.method, concrete(r.path), r.method === "GET" || r.method === "DELETE" ? undefined : {}, { key: null });
      expect(none.status, `${r.method} ${r.path} without key`).toBe(401);
      expect(none.headers.get("content-type")).toMatch(/problem\+json/);
      const bad = await h.api(r.method, concrete(r.path), undefined, { key: "rpk_not-a-real-key" });
      expect(bad.status, `${r.method} ${r.path} bad key`).toBe(401);
    }
  });

  it("when a role the route does not admit calls it, then 403 and nothing changes", async () => {
    const keys = { marketer: await h.keyFor("marketer"), developer: await h.keyFor("developer") };
    let checked = 0;
    for (const r of table().filter((x) => !isPublic(x.path))) {
      for (const role of ["marketer", "developer"] as const) {
        if (r.roles!.includes(role)) continue;
        const res = await h.api(r.method, concrete(r.path), r.method === "GET" || r.method === "DELETE" ? undefined : {}, { key: keys[role] });
        expect(res.status, `${role} on ${r.method} ${r.path}`).toBe(403);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(5);

    // Well-formed writes by the wrong role are refused and leave no trace.
    const { db } = await import("./support/harness.ts");
    const topic = rid("forbidden-");
    expect((await h.api("POST", "/v1/topics", { key: topic, name: "x", kind: "marketing" }, { key: keys.developer })).status).toBe(403);
    expect(await db.topic.count({ where: { key: topic } })).toBe(0);
    const addr = `${rid("forbidden-")}@example.com`;
    expect((await h.api("POST", "/v1/customers", { email: addr }, { key: keys.marketer })).status).toBe(403);
    expect(await db.customer.count({ where: { email: addr } })).toBe(0);
    const persona = rid("forbidden-");
    expect((await h.api("POST", "/v1/personas", { key: persona, name: "x" }, { key: keys.developer })).status).toBe(403);
    expect(await db.persona.count({ where: { key: persona } })).toBe(0);
    const name = rid("forbidden-");
    expect((await h.api("POST", "/v1/api-keys", { name, role: "admin" }, { key: keys.marketer })).status).toBe(403);
    expect(await db.apiKey.count({ where: { name } })).toBe(0);
  });

  it("when an admin creates a key, then it is shown once, stored hashed, works, and stops working once revoked", async () => {
    const created = await h.api("POST", "/v1/api-keys", { name: rid("k-"), role: "developer" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.any(String), key: expect.stringMatching(/^rpk_/), role: "developer" });
    const { db } = await import("./support/harness.ts");
    const row = await db.apiKey.findUniqueOrThrow({ where: { id: created.body.id } });
    expect(JSON.stringify(row)).not.toContain(created.body.key);
    expect((await h.api("GET", "/v1/customers?limit=1", undefined, { key: created.body.key })).status).toBe(200);
    expect((await h.api("DELETE", `/v1/api-keys/${created.body.id}`)).status).toBe(204);
    expect((await h.api("GET", "/v1/customers?limit=1", undefined, { key: created.body.key })).status).toBe(401);
    expect((await h.api("GET", "/v1/api-keys")).body.data.find((k: any) => k.id === created.body.id)).not.toHaveProperty("key");
  });

  it("when a key is used while it is being revoked, then once the revocation returns this process refuses it", async () => {
    const { authenticate, revokeApiKey } = await import("../src/modules/api-keys/api-keys.service.ts");
    const created = await h.api("POST", "/v1/api-keys", { name: rid("k-"), role: "developer" });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    expect(await authenticate(key)).toMatchObject({ keyId: created.body.id });
    // A request of this process authenticates while the revocation is being written.
    let revoking = true;
    const revoked = revokeApiKey(created.body.id).finally(() => (revoking = false));
    const racing: Promise<unknown>[] = [];
    while (revoking) {
      racing.push(authenticate(key));
      await new Promise((r) => setImmediate(r));
    }
    await revoked;
    await Promise.all(racing);
    expect(await authenticate(key)).toBeNull();
  });

  it("when a key is revoked by another process (straight in the database), then this process stops admitting it within 5 s", async () => {
    const created = await h.api("POST", "/v1/api-keys", { name: rid("k-"), role: "developer" });
    const key = created.body.key as string;
    expect((await h.api("GET", "/v1/customers?limit=1", undefined, { key })).status).toBe(200);
    const { pool } = await import("./support/harness.ts");
    const revokedAt = Date.now();
    await pool.query("UPDATE api_keys SET revoked_at = now() WHERE id = $1", [created.body.id]);
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 8000) {
      status = (await h.api("GET", "/v1/customers?limit=1", undefined, { key })).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(5500);
  });
});
