// Fault suite, real processes: the private Redis restarted with nothing kept, and the private
// PostgreSQL restarted, while messages are in flight. PostgreSQL is the source of truth: the sweep
// recovers every queued message after Redis lost its queues, nothing is sent twice, and while a
// dependency is down the API answers 503 with Retry-After (not 500) and /readyz says which.
import { describe, expect, it } from "vitest";
import { sleep, waitUntil } from "../support/wait.ts";
import { acceptedCopies, isRunning, report, seed, sendAll, settled, statusCounts, useEngine, type ApiAnswer, type Engine } from "./support/engine.ts";

const N = Number(process.env.FAULT_OUTAGE ?? 500);

const { sink, e } = await useEngine(2);

/** While a dependency is down: API calls answer 503 with Retry-After, never another 5xx. */
async function probeWhileDown(e: Engine, customerId: string, a: { topic: string; template: string }) {
  const answers: ApiAnswer[] = [];
  for (let i = 0; i < 5; i++) {
    answers.push(await e.api("GET", `/v1/customers/${customerId}`));
    answers.push(await e.api("POST", "/v1/messages", { to: { customerId }, template: a.template, topic: a.topic }));
  }
  return answers;
}

describe("faults: dependencies restarted", () => {
  it("when Redis restarts with nothing kept, then every queued message is recovered from PostgreSQL and delivered once; meanwhile /readyz names redis", async () => {
    const a = await seed(e, N);
    await Promise.all(e.workers.map((w) => e.terminate(w)));
    const ids = await sendAll(e, a);
    expect(await statusCounts(e, [...ids.values()])).toEqual({ queued: N });
    sink.received.length = 0;
    await e.redis.stop(); // the queues are gone
    const ready = await e.api("GET", "/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toMatchObject({ redis: "down", database: "ok" });
    const down = await probeWhileDown(e, a.customers[0].id, a);
    await e.redis.start(); // empty
    await Promise.all([e.startProc("worker"), e.startProc("worker")]);
    const final = await settled(e, [...ids.values()], 300_000);
    const copies = acceptedCopies(sink);
    const lost = [...ids.values()].filter((id) => !copies.has(id)).length;
    const duplicated = [...copies.values()].reduce((n, k) => n + k - 1, 0);
    report("Redis restarted empty", { messages: N, final, lost, duplicated, whileDown: down.map((r) => r.status), http5xx: e.serverErrors() });
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(down.filter((r) => r.status >= 500 && (r.status !== 503 || !r.headers.get("retry-after")))).toEqual([]);
  });

  it("when PostgreSQL restarts while messages are delivered, then none is sent twice or lost; meanwhile the API answers 503 with Retry-After and /readyz names the database", async () => {
    const a = await seed(e, N);
    sink.received.length = 0;
    const running = e.running;
    expect(running.map((p) => p.role).sort()).toEqual(["api", "worker", "worker"]);
    const ids = await sendAll(e, a);
    await waitUntil(() => sink.received.length >= N / 4, "a quarter to be delivered", 120_000, 20);
    e.postgres.stop();
    const ready = await e.api("GET", "/readyz");
    const down = await probeWhileDown(e, a.customers[0].id, a);
    await sleep(3000);
    e.postgres.start();
    const final = await settled(e, [...ids.values()], 300_000);
    const copies = acceptedCopies(sink);
    const lost = [...ids.values()].filter((id) => !copies.has(id)).length;
    const duplicated = [...copies.values()].reduce((n, k) => n + k - 1, 0);
    // A process that died with the database (an unhandled connection error) takes the outcomes it
    // held with it: messages SMTP accepted are sent again once their claims time out.
    const died = running.filter((p) => !isRunning(p)).map((p) => `${p.role}: ${p.output.join("").slice(-1500)}`);
    report("PostgreSQL restarted", { messages: N, final, lost, duplicated, died: died.length, readyz: ready.body, whileDown: down.map((r) => r.status), http5xx: e.serverErrors() });
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toMatchObject({ database: "down", redis: "ok" });
    expect(down.map((r) => [r.status, !!r.headers.get("retry-after")])).toEqual(down.map(() => [503, true]));
    expect(died).toEqual([]);
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
  });
});
