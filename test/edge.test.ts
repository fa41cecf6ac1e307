// Hostile and malformed input at the HTTP edge: always RFC 9457 problem+json, never a crash, never
// a partial write.
import { describe, expect, it } from "vitest";
import { db, email, rid, useHarness } from "./support/harness.ts";

const h = useHarness({ workers: false });

const problem = (r: { status: number; headers: Headers; body: any }, status: number) => {
  expect(r.status).toBe(status);
  expect(r.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(r.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status });
};

describe("edge", () => {
  it("when the JSON is malformed, then 400 problem+json and nothing is created", async () => {
    const addr = email("malformed");
    const r = await h.api("POST", "/v1/customers", undefined, { raw: `{"email": "${addr}",`, headers: { "content-type": "application/json" } });
    problem(r, 400);
    expect(r.body.errors).toEqual([{ path: "", message: expect.any(String) }]);
    expect(await db.customer.count({ where: { email: { equals: addr, mode: "insensitive" } } })).toBe(0);
  });

  it("when types are wrong or fields unknown, then 400 with one error per path", async () => {
    const key = rid("k-");
    const r = await h.api("POST", "/v1/topics", { key, name: ["x"], kind: "marketing", doubleOptIn: "yes", admin: true });
    problem(r, 400);
    const paths = r.body.errors.map((e: any) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["name", "doubleOptIn"]));
    expect(r.body.errors.some((e: any) => /admin/.test(e.message) || e.path === "admin")).toBe(true);
    expect(await db.topic.count({ where: { key } })).toBe(0);
  });

  it("when the body is larger than the limit, then 413 problem+json", async () => {
    const huge = JSON.stringify({ email: "x@example.com", attributes: { blob: "x".repeat(17 * 1024 * 1024) } });
    const r = await h.api("POST", "/v1/customers", undefined, { raw: huge, headers: { "content-type": "application/json" } });
    problem(r, 413);
    // Outside imports the limit is API_BODY_LIMIT (4 MB).
    const addr = email("big");
    const big = JSON.stringify({ email: addr, attributes: { blob: "x".repeat(5 * 1024 * 1024) } });
    problem(await h.api("POST", "/v1/customers", undefined, { raw: big, headers: { "content-type": "application/json" } }), 413);
    expect(await db.customer.count({ where: { email: { equals: addr, mode: "insensitive" } } })).toBe(0);
  });

  it("when a request without a valid API key carries a body, then 401 before the body is read", async () => {
    // Malformed JSON would be a 400 if it were parsed first; megabytes of tiny objects cost real CPU.
    const junk = `[${"{},".repeat(1_000_000)}`;
    for (const key of [null, "rk_live_not-a-real-key"]) {
      const r = await h.api("POST", "/v1/customers", undefined, { raw: junk, headers: { "content-type": "application/json" }, key });
      problem(r, 401);
    }
  });

  it("when the route does not exist, then 404 problem+json; a JSON array body is 400 (a wrong content type: 415, below)", async () => {
    problem(await h.api("GET", "/v1/nothing-here"), 404);
    problem(await h.api("POST", "/v1/topics", [1, 2, 3]), 400);
  });

});

describe("edge, hostile input", () => {
  it("when a JSON string carries a NUL character, then 400 names the field and nothing is stored", async () => {
    const key = rid("nul-");
    const r = await h.api("POST", "/v1/topics", undefined, { raw: `{"key":"${key}","name":"a\\u0000b","kind":"marketing"}`, headers: { "content-type": "application/json" } });
    problem(r, 400);
    expect(r.body.errors).toEqual([{ path: "name", message: expect.stringMatching(/NUL/) }]);
    expect(await db.topic.count({ where: { key } })).toBe(0);
  });

  it("when a JSON key holds a NUL or a string an unpaired surrogate, then 400 and nothing is stored (PostgreSQL could not store them)", async () => {
    for (const attrs of ['{"a\\u0000b":1}', '{"note":"x\\ud800y"}', '{"\\udc00":1}']) {
      const addr = email("jsonb");
      const r = await h.api("POST", "/v1/customers", undefined, { raw: `{"email":"${addr}","attributes":${attrs}}`, headers: { "content-type": "application/json" } });
      problem(r, 400);
      expect(await db.customer.count({ where: { email: { equals: addr, mode: "insensitive" } } })).toBe(0);
    }
    // A surrogate pair (an emoji written as escapes) is fine.
    const ok = await h.api("POST", "/v1/customers", undefined, { raw: `{"email":"${email("pair")}","attributes":{"mood":"\\ud83d\\ude00"}}`, headers: { "content-type": "application/json" } });
    expect(ok.status).toBe(201);
    expect(ok.body.attributes.mood).toBe("\u{1F600}");
  });

  it("when JSON is nested thousands of levels deep, then 400 and the process keeps serving", async () => {
    const deep = "[".repeat(5000) + "]".repeat(5000);
    const r = await h.api("POST", "/v1/customers", undefined, { raw: `{"email":"deep-${rid()}@example.com","attributes":{"a":${deep}}}`, headers: { "content-type": "application/json" } });
    problem(r, 400);
    expect((await h.api("GET", "/healthz", undefined, { key: null })).status).toBe(200);
  });

  it("when the path has a malformed %-escape, then 400 problem+json rather than 500", async () => {
    problem(await h.api("GET", "/v1/customers/%E0%A4%A"), 400);
  });

  it("when a JSON API route gets a form-encoded body, then 415 and nothing is created", async () => {
    const key = rid("form-");
    const r = await h.api("POST", "/v1/topics", undefined, { raw: `key=${key}&name=x&kind=marketing`, headers: { "content-type": "application/x-www-form-urlencoded" } });
    problem(r, 415);
    expect(await db.topic.count({ where: { key } })).toBe(0);
  });

  it("when attributes carry __proto__ and constructor keys, then they are stored as plain data and pollute nothing", async () => {
    const addr = `proto-${rid()}@example.com`;
    const r = await h.api("POST", "/v1/customers", undefined, {
      raw: `{"email":"${addr}","attributes":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"plan":"pro"}}`,
      headers: { "content-type": "application/json" },
    });
    expect(r.status).toBe(201);
    expect(({} as any).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, "polluted")).toBe(false);
    const stored = await db.customer.findFirstOrThrow({ where: { email: addr } });
    expect((stored.attributes as any).plan).toBe("pro");
    expect(Object.getPrototypeOf(stored.attributes)).toBe(Object.prototype);
  });
});
