// WEBHOOK_ALLOW_PRIVATE is off here (the default): private targets are refused at registration and
// again at delivery, after DNS, on the address actually connected to.
import { describe, expect, it } from "vitest";
import { config } from "../src/platform/config.ts";
import { encrypt } from "../src/platform/secrets.ts";
import { pool } from "./support/harness.ts";
import { sleep } from "./support/fixtures.ts";
import { harnessWithReceiver } from "./support/webhook-receiver.ts";

const ctx = harnessWithReceiver();

describe("webhook SSRF guard", () => {
  it.each([
    ["loopback IPv4", () => ctx.rx.url("/a")],
    ["a private 10.x address", () => "http://10.1.2.3/hook"],
    ["link-local metadata", () => "http://169.254.169.254/latest/meta-data"],
    ["IPv6 loopback", () => `http://[::1]:${ctx.rx.port}/hook`],
    ["IPv4-mapped IPv6", () => `http://[::ffff:127.0.0.1]:${ctx.rx.port}/hook`],
    ["a host name resolving to loopback", () => `http://localhost:${ctx.rx.port}/hook`],
    ["a decimal IPv4 form of loopback", () => `http://2130706433:${ctx.rx.port}/hook`],
  ])("when the URL is %s, then registration is 400 on `url` and nothing is stored", async (_what, url) => {
    expect(config.WEBHOOK_ALLOW_PRIVATE).toBe(false);
    const before = (await pool.query("SELECT count(*)::int AS n FROM webhooks")).rows[0].n;
    const r = await ctx.h.api("POST", "/v1/webhooks", { url: url(), events: ["message.sent"] });
    expect(r.status, r.text).toBe(400);
    expect(r.body.errors).toEqual([expect.objectContaining({ path: "url" })]);
    expect((await pool.query("SELECT count(*)::int AS n FROM webhooks")).rows[0].n).toBe(before);
  });

  it("when a registered host later resolves to loopback (DNS rebinding), then the delivery is refused without connecting", async () => {
    // Stored directly, as if the name had resolved to a public address at registration.
    const ins = await pool.query<{ id: string }>(
      "INSERT INTO webhooks (id, url, events, secret_enc) VALUES (gen_random_uuid(), $1, $2, $3) RETURNING id",
      [`http://localhost:${ctx.rx.port}/rebound`, ["message.sent"], encrypt(`whsec_${Buffer.alloc(32, 7).toString("base64")}`)],
    );
    const id = ins.rows[0].id;
    expect((await ctx.h.api("POST", `/v1/webhooks/${id}/test`)).status).toBe(202);
    const until = Date.now() + 10_000;
    let log: Array<{ outcome: string; statusCode: number | null }> = [];
    while (Date.now() < until && log.length === 0) {
      log = (await ctx.h.api("GET", `/v1/webhooks/${id}/deliveries`)).body.data[0]?.log ?? [];
      await sleep(50);
    }
    expect(log[0]).toMatchObject({ outcome: "refused_address", statusCode: null });
    expect(ctx.rx.on("/rebound")).toHaveLength(0);
  });

  it("when a stored URL is a private IP literal, then the delivery is refused too", async () => {
    const ins = await pool.query<{ id: string }>(
      "INSERT INTO webhooks (id, url, events, secret_enc) VALUES (gen_random_uuid(), $1, $2, $3) RETURNING id",
      [ctx.rx.url("/literal"), ["message.sent"], encrypt(`whsec_${Buffer.alloc(32, 7).toString("base64")}`)],
    );
    const id = ins.rows[0].id;
    await ctx.h.api("POST", `/v1/webhooks/${id}/test`);
    const until = Date.now() + 10_000;
    let log: Array<{ outcome: string }> = [];
    while (Date.now() < until && log.length === 0) {
      log = (await ctx.h.api("GET", `/v1/webhooks/${id}/deliveries`)).body.data[0]?.log ?? [];
      await sleep(50);
    }
    expect(log[0]).toMatchObject({ outcome: "refused_address" });
    expect(ctx.rx.on("/literal")).toHaveLength(0);
  });
});
