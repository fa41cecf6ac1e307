import { beforeAll, describe, expect, it } from "vitest";
import { refreshRulePersonas } from "../src/modules/personas/persona-assignment.ts";
import { touchpointsFor } from "../src/modules/templates/touchpoints.repository.ts";
import { config } from "../src/platform/config.ts";
import { db, email, rid, useHarness } from "./support/harness.ts";

const h = useHarness({ workers: false });
let marketer: string;
let developer: string;
beforeAll(async () => {
  [marketer, developer] = await Promise.all([h.keyFor("marketer"), h.keyFor("developer")]);
});

const m = () => ({ key: marketer });
const base = (key: string) => ({ key, name: "Welcome", subject: "Welcome {{customer.name}}", html: "<p>Default body for {{customer.name}}</p>" });
/** The email body inside the layout, without the styles the CSS inliner added. */
const body = (html: string) =>
  (/<div class="rp-body"[^>]*>\s*([\s\S]*?)\s*<\/div>\s*<div class="rp-footer"/.exec(html)?.[1] ?? "").replace(/ style="[^"]*"/g, "");

async function customer(attributes: Record<string, unknown>, extra: { name?: string; personaId?: string } = {}) {
  const c = await db.customer.create({ data: { email: email(), attributes: attributes as object, ...extra } });
  await refreshRulePersonas([c.id]);
  return c.id;
}

describe("templates", () => {
  it("when a template is created and versioned, then versions are numbered, immutable and readable", async () => {
    const key = rid("tpl-");
    const v1 = await h.api("POST", "/v1/templates", { ...base(key), text: "Hi {{customer.name}}" }, m());
    expect(v1.status).toBe(201);
    expect(v1.body).toMatchObject({ key, version: 1, name: "Welcome", text: "Hi {{customer.name}}", variants: [], warnings: [] });
    const v2 = await h.api("POST", `/v1/templates/${key}/versions`, { subject: "New {{customer.nmae}}", html: "<p>v2</p>" }, m());
    expect(v2.status).toBe(201);
    expect(v2.body).toMatchObject({ key, version: 2, name: "Welcome", text: null });
    expect(v2.body.warnings).toEqual([expect.objectContaining({ part: "subject", line: 1, column: 7 })]);
    expect((await h.api("GET", `/v1/templates/${key}`, undefined, { key: developer })).body).toMatchObject({ version: 2, html: "<p>v2</p>" });
    expect((await h.api("GET", `/v1/templates/${key}/versions/1`, undefined, { key: developer })).body).toMatchObject({ version: 1, html: base(key).html });
    expect((await h.api("GET", `/v1/templates/${key}/versions/3`, undefined, m())).status).toBe(404);
    const versions = await h.api("GET", `/v1/templates/${key}/versions`, undefined, m());
    expect(versions.body.data.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    const list = await h.api("GET", "/v1/templates?limit=500", undefined, { key: developer });
    expect(list.body.data).toContainEqual(expect.objectContaining({ key, version: 2, name: "Welcome" }));
    expect((await h.api("POST", "/v1/templates", base(key), m())).status).toBe(409);
    expect((await h.api("POST", `/v1/templates/${key}/versions`, { key: "other", subject: "s", html: "h" }, m())).status).toBe(400);
  });

  it("when a template does not compile, then 422 names the part, line and column and nothing is saved", async () => {
    const key = rid("broken-");
    const r = await h.api("POST", "/v1/templates", { ...base(key), html: "<p>fine</p>\n<p>{{#if customer.name}}unclosed</p>" }, m());
    expect(r.status).toBe(422);
    expect(r.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(r.body).toMatchObject({ part: "html", line: 2, column: expect.any(Number) });
    expect((await h.api("GET", `/v1/templates/${key}`, undefined, m())).status).toBe(404);
    expect(await db.template.count({ where: { key } })).toBe(0);

    const persona = (await h.api("POST", "/v1/personas", { key: rid("p-"), name: "P" }, m())).body.key;
    const ok = await h.api("POST", "/v1/templates", base(key), m());
    expect(ok.status).toBe(201);
    const dup = await h.api("POST", `/v1/templates/${key}/versions`, { ...base(key), variants: [{ persona, html: "ok" }, { persona, subject: "s" }] }, m());
    expect(dup.status).toBe(400);
    expect(dup.body.errors[0].path).toBe("variants.1.persona");
    const badVariant = await h.api("POST", `/v1/templates/${key}/versions`, { ...base(key), variants: [{ persona, html: "line one\n  {{> nowhere}}" }] }, m());
    expect(badVariant.status).toBe(422);
    expect(badVariant.body).toMatchObject({ part: "variants.0.html", line: 2, column: 3 });
    const unknownPersona = await h.api("POST", `/v1/templates/${key}/versions`, { ...base(key), variants: [{ persona: rid("ghost-"), html: "x" }] }, m());
    expect(unknownPersona.status).toBe(422);
    expect(unknownPersona.body.errors[0].path).toBe("variants.0.persona");
    expect((await h.api("GET", `/v1/templates/${key}`, undefined, m())).body.version).toBe(1);
  });

  it("when previewing for customers of each persona, then each gets its persona's variant and the others the default", async () => {
    const ns = rid("ns");
    const keys = ["saver", "techie", "family"].map((k) => rid(`${k}-`));
    for (const [i, k] of keys.entries()) {
      const r = await h.api("POST", "/v1/personas", { key: k, name: `Persona ${i}`, rule: { attr: `${ns}.segment`, op: "eq", value: i }, priority: i }, m());
      expect(r.status).toBe(201);
    }
    const key = rid("tpl-");
    const created = await h.api("POST", "/v1/templates", {
      ...base(key),
      variants: [
        { persona: keys[0], subject: "Save now, {{customer.name}}", html: "<p>Saver body: {{persona.name}}</p>" },
        { persona: keys[1], html: "<p>Techie body {{data.spec}}</p>" },
      ],
    }, m());
    expect(created.status).toBe(201);
    const ids = await Promise.all([0, 1, 2, 9].map((i) => customer({ [ns]: { segment: i } }, { name: `C${i}` })));
    const previews = await Promise.all(ids.map((customerId) => h.api("POST", `/v1/templates/${key}/preview`, { customerId, data: { spec: "8 cores" } }, { key: developer })));
    expect(previews.map((p) => p.status)).toEqual([200, 200, 200, 200]);
    const [saver, techie, family, none] = previews.map((p) => p.body);
    expect(saver).toMatchObject({ persona: keys[0], personaSource: "rule", variant: keys[0], version: 1, subject: "Save now, C0" });
    expect(body(saver.html)).toBe("<p>Saver body: Persona 0</p>");
    expect(techie).toMatchObject({ persona: keys[1], variant: keys[1], subject: "Welcome C1" });
    expect(body(techie.html)).toBe("<p>Techie body 8 cores</p>");
    expect(family).toMatchObject({ persona: keys[2], variant: null, subject: "Welcome C2" });
    expect(body(family.html)).toBe("<p>Default body for C2</p>");
    expect(none).toMatchObject({ persona: null, variant: null });
    expect(none.text).toContain("Default body for C9");

    // A hypothetical customer is resolved by the same rules; a persona may also be forced.
    const hypo = await h.api("POST", `/v1/templates/${key}/preview`, { customer: { name: "Hypo", attributes: { [ns]: { segment: 1 } } } }, m());
    expect(hypo.body).toMatchObject({ persona: keys[1], variant: keys[1] });
    const forced = await h.api("POST", `/v1/templates/${key}/preview`, { customerId: ids[3], persona: keys[0] }, m());
    expect(forced.body).toMatchObject({ persona: keys[0], personaSource: "preview", subject: "Save now, C9" });
    const ghost = await h.api("POST", `/v1/templates/${key}/preview`, { persona: rid("ghost-") }, m());
    expect(ghost.status).toBe(422);
  });

  it("when a preview would loop without bound, then it stops at the iteration budget with a 422 and the server stays responsive", async () => {
    const key = rid("cubic-");
    const html = "{{#each data.xs}}{{#each @root.data.xs}}{{#each @root.data.xs}}x{{/each}}{{/each}}{{/each}}";
    expect((await h.api("POST", "/v1/templates", { key, name: "Cubic", subject: "s", html }, m())).status).toBe(201);
    const started = performance.now();
    const r = await h.api("POST", `/v1/templates/${key}/preview`, { data: { xs: Array.from({ length: 200 }, (_, i) => i) } }, m());
    expect(r.status).toBe(422);
    expect(r.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(r.body).toMatchObject({ part: "html", detail: expect.stringMatching(/iteration budget/) });
    expect(performance.now() - started).toBeLessThan(1500);
    // The same template within the budget renders.
    const ok = await h.api("POST", `/v1/templates/${key}/preview`, { data: { xs: [1, 2, 3] } }, m());
    expect(ok.status).toBe(200);
    expect(body(ok.body.html)).toBe("x".repeat(27));
  });

  it("when a template part is too large, then 400 names the path quickly and nothing is saved", async () => {
    const key = rid("huge-");
    const block = '<p class="c">{{customer.name}} {{#if data.x}}<a href="{{data.url}}">{{data.label}}</a>{{/if}}</p>\n';
    const html = block.repeat(Math.ceil((300 * 1024) / block.length));
    const started = performance.now();
    const r = await h.api("POST", "/v1/templates", { key, name: "Huge", subject: "s", html }, m());
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: { path: string }) => e.path)).toEqual(["html"]);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await db.template.count({ where: { key } })).toBe(0);

    // Each part within its cap, but the version as a whole too large: the part crossing the total is named.
    const plain = "<p>Plain paragraph text, the bulk of a long email.</p>\n";
    const part = `{{customer.name}}${plain.repeat(Math.ceil((200 * 1024) / plain.length))}`;
    const persona = (await h.api("POST", "/v1/personas", { key: rid("p-"), name: "P" }, m())).body.key;
    const variants = [{ persona, html: part, text: "t".repeat(100 * 1024) }, ...[1, 2, 3].map((i) => ({ persona: `${persona}-${i}`, html: part }))];
    const total = await h.api("POST", "/v1/templates", { key, name: "Huge", subject: "s", html: part, variants }, m());
    expect(total.status).toBe(400);
    expect(total.body.errors).toEqual([expect.objectContaining({ path: "variants.3.html", message: expect.stringMatching(/1 MB/) })]);
    expect(await db.template.count({ where: { key } })).toBe(0);
    expect((await h.api("POST", "/v1/templates", { key, name: "Long", subject: "s".repeat(1001), html: "x" }, m())).body.errors[0].path).toBe("subject");
    // Small, but 10,001 tags: compiling costs per tag, so tags are capped too.
    const dense = await h.api("POST", "/v1/templates", { key, name: "Dense", subject: "s", html: "{{a}}".repeat(10_001) }, m());
    expect(dense.status).toBe(400);
    expect(dense.body.errors).toEqual([{ path: "html", message: expect.stringMatching(/10,000 Handlebars tags/) }]);
    expect(await db.template.count({ where: { key } })).toBe(0);
  });

  it("when templates and data probe prototypes, then the output contains nothing harmful", async () => {
    const key = rid("proto-");
    const probes = "{{constructor}}|{{__proto__}}|{{constructor.constructor}}|{{#with __proto__}}{{polluted}}{{/with}}|{{data.__proto__.polluted}}|{{data.constructor.constructor}}|{{lookup customer \"constructor\"}}|{{customer.attributes.toString}}|{{@root.constructor.name}}";
    const created = await h.api("POST", "/v1/templates", { key, name: "Proto", subject: "{{constructor.constructor}}x", html: `<p>${probes}</p>` }, m());
    expect(created.status).toBe(201);
    const id = await customer({ constructor: { prototype: { isAdmin: true } }, toString: "own value" });
    const raw = `{"customerId":"${id}","data":{"__proto__":{"polluted":"yes"},"constructor":{"constructor":"c"}}}`;
    const r = await h.api("POST", `/v1/templates/${key}/preview`, undefined, { key: marketer, raw, headers: { "content-type": "application/json" } });
    expect(r.status).toBe(200);
    expect(r.body.subject).toBe("x");
    const out = body(r.body.html);
    expect(out).not.toMatch(/function|native code|\[object|polluted|yes/);
    // Only own data resolves (data.constructor is the customer's own key, "c"); nothing inherited.
    expect(out).toBe("<p>|||||c||own value|</p>");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("when customer data carries an HTML injection attempt, then it arrives escaped in the HTML", async () => {
    const key = rid("inj-");
    await h.api("POST", "/v1/templates", { key, name: "Inj", subject: "Hi {{customer.name}}", html: '<p title="{{customer.attributes.t}}">{{customer.name}} {{data.note}}</p>' }, m());
    const id = await customer({ t: '"><script>alert(1)</script>' }, { name: "<img src=x onerror=alert(1)>" });
    const r = await h.api("POST", `/v1/templates/${key}/preview`, { customerId: id, data: { note: "</p><a href='javascript:alert(1)'>x</a>" } }, m());
    expect(r.status).toBe(200);
    expect(r.body.html).not.toMatch(/<script>|<img src=x|<a href='javascript/);
    expect(body(r.body.html)).toBe(
      '<p title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt; &lt;/p&gt;&lt;a href&#x3D;&#x27;javascript:alert(1)&#x27;&gt;x&lt;/a&gt;</p>',
    );
  });

  it("when a marketing render lacks the unsubscribe link or postal address, then it is refused; transactional is allowed", async () => {
    const key = rid("nofooter-");
    await h.api("POST", "/v1/templates", { key, name: "No footer", subject: "s", html: '{{#*inline "footer"}}<p>bye</p>{{/inline}}<p>Body</p>' }, m());
    const marketing = await h.api("POST", `/v1/templates/${key}/preview`, {}, m());
    expect(marketing.status).toBe(422);
    expect(marketing.body.missing).toEqual(["the unsubscribe link", "the postal address"]);
    const transactional = await h.api("POST", `/v1/templates/${key}/preview`, { kind: "transactional" }, m());
    expect(transactional.status).toBe(200);
    const normal = rid("ok-");
    await h.api("POST", "/v1/templates", base(normal), m());
    const ok = await h.api("POST", `/v1/templates/${normal}/preview`, {}, m());
    expect(ok.body.html).toContain(`href="${config.publicUrl}/u/preview"`);
    expect(ok.body.html).toContain(config.SENDER_POSTAL_ADDRESS);
  });

  it("when a developer writes templates, then 403; reading and previewing are allowed", async () => {
    const key = rid("dev-");
    expect((await h.api("POST", "/v1/templates", base(key), { key: developer })).status).toBe(403);
    await h.api("POST", "/v1/templates", base(key), m());
    expect((await h.api("POST", `/v1/templates/${key}/versions`, base(key), { key: developer })).status).toBe(403);
    expect((await h.api("POST", `/v1/templates/${key}/preview`, { data: {} }, { key: developer })).status).toBe(200);
    expect((await h.api("POST", `/v1/templates/${key}/preview`, { bogus: 1 }, { key: developer })).status).toBe(400);
  });

  it("when a customer has messages and engagement, then touchpoints summarise them for templates", async () => {
    const id = await customer({});
    const topic = await db.topic.create({ data: { key: rid("tp-"), name: "T", kind: "marketing" } });
    const tpl = await db.template.create({ data: { key: rid("tp-"), versions: { create: { version: 1, name: "n", subject: "s", html: "h" } } }, include: { versions: true } });
    const now = new Date();
    const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15));
    const mk = (sentAt: Date | null) =>
      db.message.create({ data: { customerId: id, topicId: topic.id, templateVersionId: tpl.versions[0].id, status: sentAt ? "sent" : "queued", sentAt } });
    const [recent] = await Promise.all([mk(now), mk(lastMonth), mk(null)]);
    const openedAt = new Date(now.getTime() - 1000);
    await db.messageEvent.createMany({ data: [
      { messageId: recent.id, customerId: id, type: "opened", createdAt: openedAt },
      { messageId: recent.id, customerId: id, type: "opened", createdAt: new Date(now.getTime() - 60_000) },
    ] });
    const tp = (await touchpointsFor([id])).get(id)!;
    expect(tp).toEqual({ lastMessageSentAt: now.toISOString(), lastOpenAt: openedAt.toISOString(), lastClickAt: null, messagesThisMonth: 1 });

    const key = rid("tp-tpl-");
    await h.api("POST", "/v1/templates", { key, name: "TP", subject: "s", html: "<p>{{touchpoints.messagesThisMonth}} {{pluralize touchpoints.messagesThisMonth \"message\"}}</p>" }, m());
    const r = await h.api("POST", `/v1/templates/${key}/preview`, { customerId: id }, m());
    expect(body(r.body.html)).toBe("<p>1 message</p>");
  });
});
