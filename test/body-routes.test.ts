// Request bodies are read only by the routes that take one, with that route's limit (issue 9,
// finding 4): an unknown path answers 404 without reading its body, and the public pages take
// small urlencoded forms only.
import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { preferencesToken } from "../src/modules/public-links/public-links.service.ts";
import { createCustomer } from "./support/fixtures.ts";
import { prepareLoad, sampleLatency } from "./support/load.ts";
import { db, startHarness, type Harness } from "./support/harness.ts";
import { ADMIN_KEY } from "./support/env.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ workers: false });
});
afterAll(() => h.close());

/** Sends the headers and `sent` bytes of a body announced as `length` bytes; resolves with what came back within `waitMs`. */
async function partialPost(path: string, length: number, sent: string, waitMs: number): Promise<string> {
  const port = Number(new URL(h.baseUrl).port);
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => undefined);
  let data = "";
  socket.on("data", (d) => (data += d.toString()));
  await new Promise<void>((r) => socket.once("connect", () => r()));
  socket.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${sent}`);
  const end = Date.now() + waitMs;
  while (!/\r\n\r\n/.test(data) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  socket.destroy();
  return data;
}

describe("request bodies per route", () => {
  it("when an unknown path is posted 3.9 MB of JSON, then 404 comes before the body is sent, and the connection is closed", async () => {
    const head = await partialPost("/nope", 3_900_000, "[" + "{},".repeat(300), 3_000);
    expect(head).toMatch(/^HTTP\/1\.1 404/);
    expect(head).toMatch(/application\/problem\+json/);
    expect(head).toMatch(/connection: close/i);
  });

  it("when 20 clients post 1.9 MB JSON arrays to an unknown path at once, then /healthz stays fast and none is parsed", async () => {
    const fire = await prepareLoad({ url: `${h.baseUrl}/nope`, count: 20, bytes: 1_900_000, contentType: "application/json", kind: "json-array" });
    const load = fire();
    const latencies = await sampleLatency(`${h.baseUrl}/healthz`, load);
    const { statuses } = await load;
    // Each post either read its 404 or saw its socket closed mid-upload; none was a parse error (400).
    expect(statuses.every((s) => s.status === 404 || s.status === "error")).toBe(true);
    expect(statuses.some((s) => s.status === 404)).toBe(true);
    expect(latencies.length).toBeGreaterThan(0);
    expect(Math.max(...latencies)).toBeLessThan(1_500);
  });

  it("when a route that takes no body (GET /healthz) is sent malformed JSON, then the body is ignored", async () => {
    const port = Number(new URL(h.baseUrl).port);
    const socket = connect(port, "127.0.0.1");
    let data = "";
    socket.on("data", (d) => (data += d.toString()));
    await new Promise<void>((r) => socket.once("connect", () => r()));
    socket.write(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{"a":`);
    const end = Date.now() + 3_000;
    while (!/\r\n\r\n/.test(data) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    socket.destroy();
    expect(data).toMatch(/^HTTP\/1\.1 200/);
  });

  it("when a public form is larger than 16 KB or is not urlencoded, then 413 or 415 and nothing changes", async () => {
    const c = await createCustomer(h);
    const row = await db.customer.findUniqueOrThrow({ where: { id: c.id } });
    const url = `${h.baseUrl}/preferences/${preferencesToken(c.id, row.emailHash!)}`;
    const big = await fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `action=unsubscribe_all&x=${"a".repeat(40_000)}`, redirect: "manual" });
    expect(big.status).toBe(413);
    const asJson = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ action: "unsubscribe_all" }), redirect: "manual" });
    expect(asJson.status).toBe(415);
    expect(await db.consentEvent.count({ where: { customerId: c.id } })).toBe(0);
    // Precondition of the claim above: the same page still takes a small form.
    const page = await fetch(url);
    expect(page.status).toBe(200);
  });

  // Plain UTF-8 JSON with a declared length is read by the API's own reader; chunked, compressed or
  // otherwise declared bodies by express.json. Both must take and refuse the same bodies.
  it("when JSON arrives plain, chunked or gzip-compressed, then each is read alike, and a NUL escape or bad JSON is the same 400 each way", async () => {
    const post = (body: string, how: "plain" | "chunked" | "gzip") => {
      const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}`, "content-type": how === "plain" ? "application/json; charset=utf-8" : "application/json" };
      if (how === "gzip") headers["content-encoding"] = "gzip";
      const data = how === "gzip" ? gzipSync(body) : how === "chunked" ? new Blob([body]).stream() : body;
      return fetch(`${h.baseUrl}/v1/topics`, { method: "POST", headers, body: data, duplex: "half" } as RequestInit);
    };
    for (const how of ["plain", "chunked", "gzip"] as const) {
      const key = `body-${how}-${Date.now()}`;
      const ok = await post(JSON.stringify({ key, name: "Caf\u00e9 news", kind: "marketing" }), how);
      expect(ok.status, how).toBe(201);
      expect((await ok.json()).name, how).toBe("Café news");
      const nul = await post(`{"key":"${key}-x","name":"a\\u0000b","kind":"marketing"}`, how);
      expect(nul.status, how).toBe(400);
      expect((await nul.json()).errors, how).toEqual([{ path: "name", message: expect.stringMatching(/NUL/) }]);
      const bad = await post(`{"key":`, how);
      expect(bad.status, how).toBe(400);
      expect(bad.headers.get("content-type"), how).toMatch(/problem\+json/);
      const scalar = await post(`"just a string"`, how);
      expect(scalar.status, how).toBe(400);
      expect(await db.topic.count({ where: { key: { startsWith: key } } }), how).toBe(1);
    }
  });
});
