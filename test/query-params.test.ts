// Unknown query parameters on /v1 (issue 9, finding 10): a 400 naming the parameter on every GET
// route of the route table, never silently ignored (a list that comes back unfiltered is dangerous).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routes } from "../src/api/routes.ts";
import { startHarness, type Harness } from "./support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ workers: false });
});
afterAll(() => h.close());

/** Every GET /v1 path of the live route table, with its parameters filled in. */
function getRoutes(): string[] {
  const out: string[] = [];
  for (const layer of (routes() as any).stack) {
    const route = layer.route;
    if (!route?.methods?.get || !String(route.path).startsWith("/v1/")) continue;
    out.push(String(route.path).replace(/:id\b/g, "00000000-0000-7000-8000-000000000000").replace(/:n\b/g, "1").replace(/:(\w+)/g, "some-key"));
  }
  return out;
}

describe("query parameters", () => {
  it("when any /v1 GET route gets an unknown query parameter (a typo or email[$ne]=x), then 400 naming it", async () => {
    const paths = getRoutes();
    expect(paths).toEqual(expect.arrayContaining(["/v1/customers", "/v1/messages", "/v1/topics", "/v1/customers/00000000-0000-7000-8000-000000000000/timeline"]));
    expect(paths.length).toBeGreaterThan(12);
    for (const path of paths) {
      // Precondition: the route itself answers without the parameter (200, or 404 for the made-up id).
      const plain = await h.api("GET", path);
      expect([200, 404], path).toContain(plain.status);
      for (const [qs, name] of [["foo=1", "foo"], ["email%5B%24ne%5D=x", "email[$ne]"]]) {
        const r = await h.api("GET", `${path}?${qs}`);
        expect(r.status, `${path}?${qs}`).toBe(400);
        expect(r.headers.get("content-type")).toMatch(/application\/problem\+json/);
        expect(r.body.errors, `${path}?${qs}`).toContainEqual({ path: name, message: expect.stringContaining(`'${name}'`) });
      }
    }
  });

  it("when a list gets its known parameters, then they still work", async () => {
    expect((await h.api("GET", "/v1/customers?limit=5&email=nobody%40example.com")).status).toBe(200);
    expect((await h.api("GET", "/v1/messages?limit=5&status=sent")).status).toBe(200);
  });
});
