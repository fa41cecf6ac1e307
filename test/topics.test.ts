import { describe, expect, it } from "vitest";
import { rid, useHarness } from "./support/harness.ts";

const h = useHarness({ workers: false });

describe("topics", () => {
  it("when a marketer creates a topic, then it can be read back by key and a duplicate key is 409", async () => {
    const marketer = await h.keyFor("marketer");
    const key = rid("news-");
    const created = await h.api("POST", "/v1/topics", { key, name: "News", kind: "marketing", doubleOptIn: true }, { key: marketer });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ key, name: "News", kind: "marketing", doubleOptIn: true });
    const got = await h.api("GET", `/v1/topics/${key}`, undefined, { key: marketer });
    expect(got.body.key).toBe(key);
    const dup = await h.api("POST", "/v1/topics", { key, name: "Again", kind: "marketing" }, { key: marketer });
    expect(dup.status).toBe(409);
    expect(dup.headers.get("content-type")).toMatch(/application\/problem\+json/);
  });

  it("when the body has unknown fields or wrong types, then 400 lists each path and nothing is created", async () => {
    const key = rid("t-");
    const r = await h.api("POST", "/v1/topics", { key, name: 5, kind: "spam", extra: true });
    expect(r.status).toBe(400);
    const paths = r.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["name", "kind"]));
    expect((await h.api("GET", `/v1/topics/${key}`)).status).toBe(404);
  });

  it("when a developer tries to create a topic, then 403; with no key, then 401", async () => {
    const dev = await h.keyFor("developer");
    expect((await h.api("POST", "/v1/topics", { key: rid(), name: "x", kind: "marketing" }, { key: dev })).status).toBe(403);
    expect((await h.api("POST", "/v1/topics", { key: rid(), name: "x", kind: "marketing" }, { key: null })).status).toBe(401);
  });
});
