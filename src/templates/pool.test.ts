// The pool with real worker threads (no mocks): results, errors, the time budget, closing.
import { afterAll, describe, expect, it } from "vitest";
import { TemplateCompileError, TemplateTooComplexError } from "./errors.ts";
import { PreparePool } from "./pool.ts";

/** CSS just under the caps (242 selectors x ~4,000 elements), still costly for juice. */
const slow = () => {
  const rules = Array.from({ length: 230 }, (_, i) => `.c${i} div p span{color:red}`).join("\n");
  const els = Array.from({ length: 1000 }, (_, i) => `<div class="c${i % 230}"><div><p><span>x</span></p></div></div>`).join("");
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

  it("when a job runs past the budget, then its thread is stopped, the job is a 422, and the next job still works", async () => {
    const generous = pool(1, 60_000);
    await generous.run({ subject: "warm", html: "x" });
    const started = performance.now();
    await generous.run(slow());
    // Precondition: on a warm thread the job really needs more than the budget below.
    expect(performance.now() - started).toBeGreaterThan(600);

    const tight = pool(1, 300);
    // Warm the thread (a cold first job may itself miss 300 ms on a loaded machine).
    for (let i = 0; i < 5; i++) if (await tight.run({ subject: "warm", html: "x" }).then(() => true, () => false)) break;
    const err = await tight.run(slow()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TemplateTooComplexError);
    expect((err as TemplateTooComplexError).status).toBe(422);
    expect(tight.threads).toBe(0);
    await expect(tight.run({ subject: "after", html: "<p>fine</p>" })).resolves.toMatchObject({ warnings: [] });
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
