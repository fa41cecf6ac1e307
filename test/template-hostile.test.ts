// Issue 9, findings 2, 5 and 10: templates that are costly to prepare, deeply nested, or carry
// links that run code. Preparation runs in the template worker pool (src/templates/pool.ts), so the
// API and the workers sharing this process keep answering while it runs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { config } from "../src/platform/config.ts";
import { closeTemplatePool } from "../src/templates/pool.ts";
import * as f from "./support/fixtures.ts";
import { cssHeavy, expectResponsive, idleProbes, nestedInline, probeWhile } from "./support/hostile-templates.ts";
import { db, rid, startHarness, type Harness } from "./support/harness.ts";

let h: Harness;
let send: () => ReturnType<Harness["api"]>;
beforeAll(async () => {
  h = await startHarness();
  const topic = await f.createTopic(h, "transactional");
  const c = await f.createCustomer(h);
  await f.setConsent(h, c.id, topic.key, "opted_in");
  const tpl = await f.createTemplate(h);
  send = () => h.api("POST", "/v1/messages", { to: { customerId: c.id }, template: tpl.key, topic: topic.key });
});
afterAll(() => h.close());

const paths = ["GET /healthz", "POST /v1/messages"];
const probes = () => [() => h.api("GET", "/healthz"), () => send()];
const budgetMs = config.TEMPLATE_PREPARE_TIMEOUT_MS;

/**
 * Saves `html` as a new template while probing; the save must end in a 422 or a 201 within the
 * budget. `cold`: the pool's threads are stopped first, as after a restart, so that the save lasts
 * long enough to be probed even when a cap refuses the template at once.
 */
async function hostileSave(name: string, html: string, cold = true) {
  if (cold) await closeTemplatePool();
  const key = rid("hostile-");
  const idle = await idleProbes(probes(), paths);
  const run = await probeWhile(() => h.api("POST", "/v1/templates", { key, name, subject: "s", html }), probes(), paths);
  const l = expectResponsive(run.probes, idle, paths);
  console.info(`${name}: save ${run.save.status} in ${Math.round(run.saveMs)} ms; while saving ${JSON.stringify(l)}`);
  expect([201, 422]).toContain(run.save.status);
  if (run.save.status === 422) {
    expect(run.save.body).toMatchObject({ detail: expect.stringMatching(/too complex|nests elements|does not compile/) });
    expect(await db.template.count({ where: { key } })).toBe(0);
  }
  return { ...run, key };
}

describe("hostile templates", () => {
  it("when finding 2's 235 KB template (3,000 rules x 3,000 matching elements) is saved, then /healthz and POST /v1/messages answer within 100 ms and the save is a quick 422", async () => {
    const html = cssHeavy(3000);
    expect(html.length).toBeGreaterThan(230 * 1024); // the reported size, within the 256 KB limit
    const run = await hostileSave("css 3000", html);
    expect(run.save.status).toBe(422);
    expect(run.save.body).toMatchObject({ part: "html", detail: expect.stringMatching(/too complex for CSS inlining/) });
    // The save above included starting the pool's thread; on a warm pool the cap answers at once (was 59-73 s).
    const started = performance.now();
    const again = await h.api("POST", "/v1/templates", { key: rid("hostile-"), name: "again", subject: "s", html });
    expect(again.status).toBe(422);
    expect(performance.now() - started).toBeLessThan(3000);
  }, 60_000);

  it("when 225 KB of nested <b><i><u> is saved, then the server stays responsive and the save is a 422 naming the part", async () => {
    const run = await hostileSave("nested", nestedInline());
    expect(run.save.status).toBe(422);
    expect(run.save.body).toMatchObject({ part: "html", detail: expect.stringMatching(/nests elements more than/) });
  }, 60_000);

  it("when the 1,000-rule template or one just under the caps is saved, then the server stays responsive and the save ends within the budget", async () => {
    const thousand = await hostileSave("css 1000", cssHeavy(1000));
    expect(thousand.save.status).toBe(422); // 1,012 selectors x 4,000 elements: over the cap, refused before juice
    // Under the caps but still seconds of CSS inlining: it runs in the pool, within the time budget.
    const rules = Array.from({ length: 230 }, (_, i) => `.c${i} div p span{color:red}`).join("\n");
    const els = Array.from({ length: 1000 }, (_, i) => `<div class="c${i % 230}"><div><p><span>x</span></p></div></div>`).join("");
    const heavy = await hostileSave("css 230 x 4000", `<style>${rules}</style>${els}`, false);
    if (heavy.save.status === 422) expect(heavy.save.body.detail).toMatch(/took more than/);
    else expect(heavy.saveMs).toBeLessThan(budgetMs + 2000);
  }, 120_000);

  it("when subexpressions nest 3,000 deep, then the save is a 422 naming the part and line, not a 500", async () => {
    const html = `<p>hello</p>\n{{eq ${"(eq ".repeat(3000)}1 1${")".repeat(3000)} 1}}`;
    const r = await h.api("POST", "/v1/templates", { key: rid("deep-"), name: "Deep", subject: "s", html });
    expect(r.status, r.text).toBe(422);
    expect(r.body).toMatchObject({ part: "html", line: 2, detail: expect.stringMatching(/nested more than 50 deep/) });
  });
});

describe("links that run code", () => {
  it("when a preview renders a javascript: or data: link from data or the template, then it is a 422; the lint warned at save", async () => {
    const key = rid("links-");
    const saved = await h.api("POST", "/v1/templates", { key, name: "Links", subject: "s", html: '<p><a href="{{data.url}}">Open</a></p>' });
    expect(saved.status, saved.text).toBe(201);
    expect(saved.body.warnings).toEqual([expect.objectContaining({ part: "html", line: 1, message: expect.stringMatching(/whole URL from per-send data/) })]);

    const preview = (url: string) => h.api("POST", `/v1/templates/${key}/preview`, { data: { url }, kind: "transactional" });
    const fine = await preview("https://example.com/a?b=1");
    expect(fine.status, fine.text).toBe(200); // precondition: the template renders
    expect(fine.body.html).toContain('href="https://example.com/a?b&#x3D;1"');
    for (const url of ["javascript:alert(1)", "  JaVaScRiPt:alert(1)", "jav\tascript:alert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:x"]) {
      const r = await preview(url);
      expect(r.status, url).toBe(422);
      expect(r.body, url).toMatchObject({ part: "html", detail: expect.stringMatching(/URL in href/) });
    }
    // Entity tricks written into the template itself are refused too.
    const tricky = rid("tricky-");
    expect((await h.api("POST", "/v1/templates", { key: tricky, name: "T", subject: "s", html: '<a href="jav&#x09;ascript:alert(1)">x</a>' })).status).toBe(201);
    const r = await h.api("POST", `/v1/templates/${tricky}/preview`, {});
    expect(r.status).toBe(422);
    expect(r.body.detail).toMatch(/javascript: URL in href/);
  });

  it("when a message's data makes a javascript: link at send time, then that message fails and a safe one is sent", async () => {
    const topic = await f.createTopic(h, "transactional");
    const tpl = await f.createTemplate(h, { html: '<p><a href="{{data.url}}">Open</a></p>' });
    const c = await f.createCustomer(h);
    const go = (url: string) => h.api("POST", "/v1/messages", { to: { customerId: c.id }, template: tpl.key, topic: topic.key, data: { url } });
    const [safe, evil] = [await go("https://example.com/ok"), await go(" jav&#x09;ascript:alert(1)".replace("&#x09;", "\t"))];
    expect((await f.waitForStatus(h, safe.body.id, ["sent", "failed"])).status).toBe("sent"); // precondition
    const m = await f.waitForStatus(h, evil.body.id, ["sent", "failed"]);
    expect(m).toMatchObject({ status: "failed" });
    expect(JSON.stringify(m)).toMatch(/javascript: URL in href/);
  }, 60_000);
});
