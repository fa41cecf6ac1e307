// An API request must not hang while Redis is away: scheduling gives up after a bounded wait and the
// rows stay `queued` for the sweep (src/modules/delivery/dispatch.ts).
import type { AddressInfo } from "node:net";
import { freePort } from "./support/wait.ts";
import { afterAll, describe, expect, it } from "vitest";

// A port with nothing listening: taken and released, so the connection is refused.
const deadPort = await freePort();
process.env.REDIS_URL = `redis://127.0.0.1:${deadPort}`;
const { scheduleDelivery } = await import("../src/modules/delivery/dispatch.ts");
const { newId } = await import("../src/platform/ids.ts");
const { closeQueues } = await import("../src/platform/queues.ts");
const { createApp } = await import("../src/api/app.ts");
const { config } = await import("../src/platform/config.ts");
const { initSecrets } = await import("../src/platform/secrets.ts");
const { db } = await import("../src/platform/prisma.ts");
const { ADMIN_KEY } = await import("./support/env.ts");

initSecrets(config.RAPPORT_SECRET!);
const server = createApp().listen(0, "127.0.0.1");
await new Promise((r) => server.once("listening", r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await closeQueues();
});

describe("dispatch without Redis", () => {
  it("when Redis is unreachable, then scheduling a delivery resolves false within seconds instead of hanging", async () => {
    const started = Date.now();
    const [one, many] = await Promise.all([scheduleDelivery([newId()]), scheduleDelivery(Array.from({ length: 500 }, () => newId()))]);
    expect([one, many]).toEqual([false, false]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("when Redis is unreachable, then an import request gets 503 problem+json within seconds and leaves no import behind", async () => {
    const tag = `redis-down-${Date.now()}`;
    const started = Date.now();
    const r = await fetch(`${base}/v1/customers/import`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "text/csv" },
      body: `email\n${tag}@example.com\n`,
    });
    expect(r.status).toBe(503);
    expect(r.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await db.import.count({ where: { input: { contains: tag } } })).toBe(0);
  });
});
