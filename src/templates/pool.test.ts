// The pool with real worker threads (no mocks): results, errors, the time budget, closing.
import { afterAll, describe, expect, it } from "vitest";
import { TemplateCompileError, TemplateTooComplexError } from "./errors.ts";
import { PreparePool } from "./pool.ts";

/** CSS under the caps that still costs juice a few hundred milliseconds: 162 selectors x ~2,000 elements. */
const slow = () => {
  const rules = Array.from({ length: 150 }, (_, i) => `.c${i} div p span{color:red}`).join("\n");
  const els = Array.from({ length: 500 }, (_, i) => `<div class="c${i % 150}"><div><p><span>x</span></p></div></div>`).join("");
  return { subject: "s", html: `<style>${rules}</style>${els}` };
};

const pools: PreparePool[] = [];
const pool = (threads: number, timeoutMs: number) => {
  const p = new PreparePool({ threads, timeoutMs });
  pools.push(p);
  return p;
};
afterAll(() => Promise.all(pools.map((p) => p.close())));

describe("PreparePool", () => {
  it("when jobs run, then results and template errors come back as from prepareVersion; threads start on first use", async () => {
    const p = pool(1, 60_000);
    expect(p.threads).toBe(0);
    const [ok, broken] = await Promise.allSettled([
      p.run({ subject: "Hi {{customer.name}}", html: "<p>{{customer.nmae}}</p>" }),
      p.run({ subject: "s", html: "<p>\n{{#if x}}</p>" }),
    ]);
    expect(p.threads).toBe(1);
    expect(ok.status === "fulfilled" && ok.value.variants[0]).toMatchObject({ variant: null, html: "html:html", textDerived: true });
    expect(ok.status === "fulfilled" && ok.value.warnings).toEqual([expect.objectContaining({ part: "html", line: 1 })]);
    expect(broken.status === "rejected" && broken.reason).toBeInstanceOf(TemplateCompileError);
    expect((broken as PromiseRejectedResult).reason.position).toMatchObject({ part: "html", line: 2 });
  }, 60_000);

  it("when warmed, then one thread starts before any job, warm resolves once it has loaded, and the first job runs on it without starting another", async () => {
    const p = pool(2, 60_000);
    const warmed = p.warm();
    void p.warm(); // idempotent: still one
    expect(p.threads).toBe(1);
    // Precondition: the thread is still loading when warm returns.
    expect(p.readyThreads).toBe(0);
    await warmed;
    expect(p.readyThreads).toBe(1);
    await expect(p.run({ subject: "s", html: "<p>x</p>" })).resolves.toMatchObject({ warnings: [] });
    expect(p.threads).toBe(1);
  }, 60_000);

  it("when a job runs past the budget, then its thread is stopped, the job is a 422, and the next job still works", async () => {
    const p = pool(1, 60_000);
    await p.run({ subject: "warm", html: "x" }); // the thread is up: budgets count the job alone
    const started = performance.now();
    await p.run(slow());
    // Precondition: the job really needs several times the budget below.
    expect(performance.now() - started).toBeGreaterThan(200);

    const err = await p.run(slow(), 50).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TemplateTooComplexError);
    expect((err as TemplateTooComplexError).status).toBe(422);
    expect((err as Error).message).toMatch(/took more than 0.05 s/);
    expect(p.threads).toBe(0); // terminated
    await expect(p.run({ subject: "after", html: "<p>fine</p>" })).resolves.toMatchObject({ warnings: [] });
    expect(p.threads).toBe(1);
  }, 120_000);

  it("when the pool closes, then waiting jobs fail and it starts again on next use", async () => {
    const p = pool(1, 60_000);
    const waiting = Promise.allSettled([p.run(slow()), p.run({ subject: "s", html: "x" })]);
    await p.close();
    const settled = await waiting;
    expect(settled.map((r) => r.status === "rejected" && String(r.reason))).toEqual([expect.stringMatching(/shutting down/), expect.stringMatching(/shutting down/)]);
    expect(p.threads).toBe(0);
    await expect(p.run({ subject: "s", html: "x" })).resolves.toBeTruthy();
  }, 60_000);
});
