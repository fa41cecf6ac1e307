import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/api/app.ts";
import { config } from "../src/platform/config.ts";
import { pool } from "../src/platform/prisma.ts";
import { useHarness } from "./support/harness.ts";

const h = useHarness({ workers: false });

describe("operations", () => {
  it("when the process is up and PostgreSQL and Redis answer, then /healthz and /readyz are 200", async () => {
    expect((await h.api("GET", "/healthz", undefined, { key: null })).body).toEqual({ status: "ok" });
    const ready = await h.api("GET", "/readyz", undefined, { key: null });
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ database: "ok", redis: "ok" });
  });

  it("when every connection of the shared pool is busy, then /readyz still says the database is up", async () => {
    const held = await Promise.all(Array.from({ length: config.DATABASE_POOL_SIZE }, () => pool.connect()));
    try {
      // Precondition: the pool has nothing left, a query through it waits.
      expect(pool.totalCount).toBe(config.DATABASE_POOL_SIZE);
      expect(pool.idleCount).toBe(0);
      const ready = await h.api("GET", "/readyz", undefined, { key: null });
      expect(ready.body.checks).toEqual({ database: "ok", redis: "ok" });
      expect(ready.status).toBe(200);
    } finally {
      for (const c of held) c.release();
    }
  });

  it("when /metrics is scraped, then requests are counted by route template (no ids) and queue depths are reported", async () => {
    await h.api("GET", "/v1/topics");
    await h.api("GET", "/v1/customers/0190a4b2-0000-7000-8000-000000000000");
    const r = await fetch(`${h.baseUrl}/metrics`);
    const text = await r.text();
    expect(r.headers.get("content-type")).toMatch(/text\/plain/);
    expect(text).toMatch(/rapport_http_request_duration_seconds_count\{method="GET",route="\/v1\/topics",status="200"\} \d+/);
    expect(text).toMatch(/route="\/v1\/customers\/:id",status="404"/);
    expect(text).not.toContain("0190a4b2-0000-7000-8000-000000000000");
    expect(text).toMatch(/rapport_queue_jobs\{queue="message-delivery",state="waiting"\} \d+/);
    expect(text).toContain("rapport_process_resident_memory_bytes");
  });
});

describe("operations from another host", () => {
  it("when /metrics is asked for over a non-loopback address without METRICS_TOKEN, then 403 even with a spoofed X-Forwarded-For", async () => {
    // A real connection from this machine's external address: the socket is not loopback.
    const external = Object.values(networkInterfaces()).flat().find((a) => a && a.family === "IPv4" && !a.internal);
    if (!external) throw new Error("this test needs a non-loopback IPv4 interface");
    const server = createApp().listen(0, external.address);
    await new Promise((r) => server.once("listening", r));
    try {
      const base = `http://${external.address}:${(server.address() as AddressInfo).port}`;
      const r = await fetch(`${base}/metrics`, { headers: { "x-forwarded-for": "127.0.0.1" } });
      expect(r.status).toBe(403);
      expect(r.headers.get("content-type")).toMatch(/application\/problem\+json/);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe("operations through a local proxy", () => {
  /** A raw request from 127.0.0.1 with exactly these headers (fetch would not let us set Host). */
  const local = (path: string, headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: new URL(h.baseUrl).port, path, headers }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });

  it("when a loopback request was forwarded by a proxy or names another host, then /metrics is 403; a plain local one is 200", async () => {
    const port = new URL(h.baseUrl).port;
    expect(await local("/metrics", { host: `127.0.0.1:${port}` })).toBe(200);
    expect(await local("/metrics", { host: `localhost:${port}` })).toBe(200);
    expect(await local("/metrics", { host: `127.0.0.1:${port}`, "x-forwarded-for": "203.0.113.9" })).toBe(403);
    expect(await local("/metrics", { host: `127.0.0.1:${port}`, forwarded: "for=203.0.113.9" })).toBe(403);
    // DNS rebinding: a page on attacker.example resolved to 127.0.0.1.
    expect(await local("/metrics", { host: `attacker.example:${port}` })).toBe(403);
  });
});

describe("api documentation", () => {
  it("when /openapi.json is read, then every route is there with its roles and every JSON write documents its body from zod", async () => {
    const doc = (await h.api("GET", "/openapi.json", undefined, { key: null })).body;
    expect(doc.openapi).toBe("3.1.0");
    const send = doc.paths["/v1/messages"].post;
    expect(send["x-roles"]).toEqual(["admin", "developer"]);
    expect(send.requestBody.content["application/json"].schema.properties).toHaveProperty("template");
    for (const [path, ops] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) {
        if (path.startsWith("/v1/") && ["post", "put", "patch"].includes(method) && !/schedule|pause|resume|cancel|rotate-secret|\/test$|\/replay$/.test(path)) {
          expect(op.requestBody, `${method} ${path} documents its body`).toBeDefined();
        }
      }
    }
    expect(doc.paths["/v1/customers/{id}"].get.parameters[0]).toMatchObject({ name: "id", in: "path" });
  });

  it("when /docs is opened, then Swagger UI is served locally", async () => {
    const page = await fetch(`${h.baseUrl}/docs`);
    expect(await page.text()).toContain("/docs/assets/swagger-ui-bundle.js");
    expect((await fetch(`${h.baseUrl}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
  });
});
