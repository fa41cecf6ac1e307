// The engine (a child process) through outages of its own private PostgreSQL and Redis: a database
// outage longer than any claim does not turn into duplicates, and a Redis restart that loses every
// queued job is recovered within seconds with default settings.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { sink } from "./support/env.ts";
import { privatePostgres, privateRedis, startEngine, stopEngine, type Engine } from "./support/private-services.ts";

const admin = `outage-admin-key-${randomBytes(12).toString("hex")}`;
const cleanup: Array<() => unknown> = [];
afterAll(async () => {
  sink.delayMs = 0;
  // Every step runs even if one fails; on a loaded machine stopping the private cluster can take minutes.
  for (const c of cleanup.reverse()) await Promise.resolve().then(c).catch((err: unknown) => console.error("cleanup step failed", err));
}, 480_000);

function client(e: Engine) {
  return async (method: string, path: string, body?: unknown) => {
    const r = await fetch(e.base + path, {
      method, headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined, text };
  };
}

/** A transactional topic, a template and n customers; returns a function that sends one to customer i. */
async function setup(e: Engine, n: number) {
  const api = client(e);
  const tag = randomBytes(4).toString("hex");
  expect((await api("POST", "/v1/topics", { key: `t-${tag}`, name: "Receipts", kind: "transactional" })).status).toBe(201);
  expect((await api("POST", "/v1/templates", { key: `tpl-${tag}`, name: "Receipt", subject: "Hi", html: "<p>Receipt</p>" })).status).toBe(201);
  const customers: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await api("POST", "/v1/customers", { email: `o-${tag}-${i}@example.com` });
    expect(r.status, r.text).toBe(201);
    customers.push(r.body.id);
  }
  const send = async (i: number) => {
    const r = await api("POST", "/v1/messages", { to: { customerId: customers[i] }, template: `tpl-${tag}`, topic: `t-${tag}` });
    expect(r.status, r.text).toBe(202);
    return r.body.id as string;
  };
  return Object.assign(send, { topic: `t-${tag}`, customers });
}

const accepted = () => sink.attempts.filter((a) => a.code === 250);
const idOf = (messageId: string | null) => messageId?.slice(1, messageId.indexOf("@")) ?? "";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("delivery through outages", () => {
  it("when PostgreSQL is stopped during sending for longer than a claim lives, then the API answers 503 with Retry-After, and once it is started again every message arrives exactly once (by Message-ID)", async () => {
    const db = await privatePostgres();
    cleanup.push(() => db.remove());
    const redis = await privateRedis();
    cleanup.push(() => redis.remove());
    const engine = await startEngine({
      DATABASE_URL: db.url("rapport"), REDIS_URL: redis.url, SMTP_URL: sink.url, RAPPORT_ADMIN_KEY: admin, QUEUE_PREFIX: "pgout",
      // Claims expire after 4 s and the sweep runs twice a second: an outage of 8 s outlives any claim.
      SEND_CLAIM_TIMEOUT_MS: "4000", SEND_SWEEP_INTERVAL_MS: "500", SMTP_POOL_SIZE: "2", SEND_BATCH_SIZE: "10",
    });
    cleanup.push(() => stopEngine(engine));
    const send = await setup(engine, 60);
    sink.attempts.length = 0;
    sink.delayMs = 300;
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) ids.push(await send(i));
    while (accepted().length < 5) await sleep(20);

    const stoppedAt = Date.now();
    db.stop();
    // Meanwhile the API says what is wrong: 503 with Retry-After (not 500), and /readyz names PostgreSQL.
    const api = client(engine);
    let during = await api("GET", "/v1/customers");
    for (let i = 0; i < 20 && during.status !== 503; i++) during = await api("GET", "/v1/customers");
    expect(during.status, during.text).toBe(503);
    expect(during.body).toMatchObject({ status: 503, type: "https://rapport.dev/problems/unavailable" });
    const retryAfter = await fetch(`${engine.base}/v1/customers`, { headers: { authorization: `Bearer ${admin}` } });
    expect(retryAfter.status).toBe(503);
    expect(retryAfter.headers.get("retry-after")).toBe("5");
    expect(retryAfter.headers.get("content-type")).toMatch(/application\/problem\+json/);
    const ready = await fetch(`${engine.base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ checks: { database: "down", redis: "ok" } });
    await sleep(Math.max(0, stoppedAt + 8000 - Date.now()));
    const startedAt = Date.now();
    db.start();

    const check = new pg.Client({ connectionString: db.url("rapport") });
    await check.connect();
    cleanup.push(() => check.end());
    const until = Date.now() + 90_000;
    let sent = 0;
    while (Date.now() < until) {
      sent = (await check.query("SELECT count(*)::int AS n FROM messages WHERE id = ANY($1::uuid[]) AND status = 'sent'", [ids])).rows[0].n;
      if (sent === ids.length) break;
      await sleep(200);
    }
    await sleep(2000); // a late duplicate would show up now
    sink.delayMs = 0;
    // Precondition: SMTP accepted messages after the database had gone, so their outcomes had to
    // wait out the whole outage (longer than their claims) to be recorded.
    expect(accepted().filter((a) => a.arrivedAt > stoppedAt && a.arrivedAt < startedAt).length, engine.output.join("")).toBeGreaterThan(0);
    expect(sent, engine.output.join("")).toBe(ids.length);
    const perId = new Map<string, number>();
    for (const a of accepted()) perId.set(idOf(a.messageId), (perId.get(idOf(a.messageId)) ?? 0) + 1);
    expect([...perId].filter(([, n]) => n > 1)).toEqual([]);
    expect(new Set(ids.filter((id) => perId.has(id))).size).toBe(ids.length);
  }, 180_000);

  it("when Redis restarts with nothing kept while a backlog waits in the queue, then a withdrawal meanwhile is 503 and the backlog is delivered within 15 s of the restart with default settings", async () => {
    const redis = await privateRedis();
    cleanup.push(() => redis.remove());
    // The shared PostgreSQL (it stays up), in a database of this test's own.
    const dbName = `rapport_outage_${randomBytes(4).toString("hex")}`;
    cleanup.push(async () => {
      const c = new pg.Client({ connectionString: "postgresql://postgres@127.0.0.1:5432/postgres" });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      await c.end();
    });
    const engine = await startEngine({
      DATABASE_URL: `postgresql://postgres@127.0.0.1:5432/${dbName}`, REDIS_URL: redis.url,
      SMTP_URL: sink.url, RAPPORT_ADMIN_KEY: admin, QUEUE_PREFIX: "rdout",
    });
    cleanup.push(() => stopEngine(engine));
    const send = await setup(engine, 150);
    sink.attempts.length = 0;
    // A slow server holds the workers' few claimed messages; the rest waits in Redis as jobs.
    sink.delayMs = 1500;
    const ids: string[] = [];
    for (let i = 0; i < 150; i++) ids.push(await send(i));
    const waiting = Number(redis.cli("llen", "rdout:message-delivery:wait"));
    expect(waiting, "jobs waiting in Redis before the restart").toBeGreaterThan(0);

    const runId = redis.cli("info", "server").match(/run_id:(\w+)/)?.[1];
    await redis.stop();
    // Without Redis a withdrawal cannot fence the hand-off: 503 with Retry-After, nothing recorded.
    const api = client(engine);
    const [topicKey, customerId] = [send.topic, send.customers[0]];
    const withdrawal = await api("PUT", `/v1/customers/${customerId}/consents/${topicKey}`, { status: "opted_out", source: "test" });
    expect(withdrawal.status, withdrawal.text).toBe(503);
    expect((await api("GET", `/v1/customers/${customerId}/consent-events`)).body.data).toEqual([]);
    await redis.start();
    const restartedAt = Date.now();
    expect(redis.cli("info", "server").match(/run_id:(\w+)/)?.[1], "a new Redis").not.toBe(runId);
    sink.delayMs = 0;

    const until = restartedAt + 15_000;
    const arrived = () => new Set(accepted().map((a) => idOf(a.messageId)));
    while (Date.now() < until && ids.some((id) => !arrived().has(id))) await sleep(100);
    expect(ids.filter((id) => !arrived().has(id)), engine.output.join("")).toEqual([]);
    await stopEngine(engine);
  }, 180_000);
});
