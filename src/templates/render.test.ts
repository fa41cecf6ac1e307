import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RENDER_LIMITS, resetRenderBudget } from "./budget.ts";
import { htmlDocumentSource } from "./compile.ts";
import { compiledFor, rememberPrepared } from "./compiled.ts";
import { hbs, htmlCompileOptions, plainCompileOptions } from "./handlebars-env.ts";
import { ComplianceError, TemplateRenderError } from "./errors.ts";
import { prepareVersion } from "./prepare.ts";
import { renderMessage, sender } from "./render.ts";
import type { RenderInput, RenderPersona, RenderTemplateVersion } from "./render.types.ts";

let seq = 0;
/** A version, prepared on this thread (the pool runs the same prepareVersion; see pool.test.ts). */
const template = (t: Partial<RenderTemplateVersion>): RenderTemplateVersion => {
  const v = { id: `tv-${++seq}`, key: "k", version: 1, subject: "Hello {{customer.name}}", html: "<p>Hi {{customer.name}}</p>", text: null, variants: [], ...t };
  rememberPrepared(v.id, prepareVersion(v));
  return v;
};
/**
 * A version that skips the save-time checks (the lint refuses unknown helpers such as this.push):
 * what the runtime alone does with a hostile template.
 */
const unchecked = (html: string, subject: string): RenderTemplateVersion => {
  const v = { id: `tv-${++seq}`, key: "k", version: 1, subject, html, text: null, variants: [] };
  const specs = { s: hbs.precompile(subject, plainCompileOptions) as string, h: hbs.precompile(htmlDocumentSource(html), htmlCompileOptions) as string };
  const parts = { subject: "subject", html: "html", text: null };
  rememberPrepared(v.id, { warnings: [], specs, variants: [{ variant: null, parts, subject: "s", html: "h", text: null, textDerived: false }] });
  return v;
};
const persona = (key: string): RenderPersona => ({ key, name: key.toUpperCase(), description: null, story: null, goals: ["g1"], concerns: [], interests: [] });
const UNSUB = "https://rapport.test/u/tok.en?x=1&y=2";
const input = (t: RenderTemplateVersion, over: Partial<RenderInput> = {}): RenderInput => ({
  template: t,
  customer: { id: "c1", name: "Ann", email: "ann@example.com", locale: "en-GB", timezone: "Europe/London", attributes: { plan: "pro" } },
  persona: null,
  data: {},
  unsubscribeUrl: UNSUB,
  preferencesUrl: "https://rapport.test/preferences/tok",
  kind: "marketing",
  ...over,
});

describe("renderMessage", () => {
  it("when the customer's persona has a variant, then its parts replace the default's; others get the default", () => {
    const t = template({
      subject: "Default for {{customer.name}}",
      html: "<p>default body</p>",
      variants: [{ persona: "saver", subject: "Save, {{persona.name}}!", html: "<p>saver body {{persona.goals.[0]}}</p>" }, { persona: "techie", subject: "Specs inside" }],
    });
    const saver = renderMessage(input(t, { persona: persona("saver") }));
    expect(saver).toMatchObject({ subject: "Save, SAVER!", variant: "saver" });
    expect(saver.html).toContain("saver body g1");
    const techie = renderMessage(input(t, { persona: persona("techie") }));
    expect(techie.subject).toBe("Specs inside");
    expect(techie.html).toContain("default body"); // subject-only variant keeps the default HTML
    const other = renderMessage(input(t, { persona: persona("other") }));
    expect(other).toMatchObject({ subject: "Default for Ann", variant: null });
    expect(renderMessage(input(t)).variant).toBeNull();
  });

  it("when rendering, then the layout adds the header, the postal address, the unsubscribe and preference links", () => {
    const out = renderMessage(input(template({})));
    expect(out.html).toContain(sender.postalAddress);
    expect(out.html).toContain('href="https://rapport.test/u/tok.en?x&#x3D;1&amp;y&#x3D;2"');
    expect(out.html).toContain('href="https://rapport.test/preferences/tok"');
    expect(out.html).toMatch(/^<!DOCTYPE html>/);
    expect(out.html).toContain('lang="en-GB"');
  });

  it("when the template has a <style>, then its CSS is inlined and the Handlebars expressions survive", () => {
    const t = template({ html: '<style>.cta { color: #ff0000; }</style><p class="cta" title="{{formatDate data.when "long"}}">{{#if (gt data.n 1)}}many{{else}}one{{/if}}</p>' });
    const out = renderMessage(input(t, { data: { when: "2024-05-01T10:00:00Z", n: 2 } }));
    // The layout's `p` rule reaches the body's elements too: inlining runs on the composed document.
    expect(out.html).toContain('<p class="cta" title="1 May 2024" style="margin: 0 0 16px; color: #ff0000;">many</p>');
  });

  it("when text is absent, then it is derived from the HTML with links spelled out; when given, the text layout adds the footer", () => {
    const derived = renderMessage(input(template({ html: "<h1>Title</h1><p>Read <a href=\"https://x.test/a\">this</a></p>" })));
    expect(derived.text).toContain("Title");
    expect(derived.text).toContain("this [https://x.test/a]");
    expect(derived.text).toContain(`[${UNSUB}]`);
    expect(derived.text).not.toContain("<");
    const given = renderMessage(input(template({ text: "Plain hi {{customer.name}} & <b>" })));
    expect(given.text).toMatch(/^Plain hi Ann & <b>\n/);
    expect(given.text).toContain(`Unsubscribe: ${UNSUB}`);
    expect(given.text).toContain(sender.postalAddress);
  });

  it("when customer data carries HTML, then it is escaped in the HTML, kept literal in text, and a subject stays one line", () => {
    const t = template({ subject: "Hi {{customer.name}}", html: "<p>{{customer.name}} {{customer.attributes.bio}}</p>" });
    const out = renderMessage(input(t, {
      customer: { id: "c", name: "<img src=x onerror=alert(1)>\r\nBcc: evil@x.test", email: "e@x.test", locale: null, timezone: null, attributes: { bio: '"><script>alert(1)</script>' } },
    }));
    expect(out.html).not.toContain("<img src=x");
    expect(out.html).not.toContain("<script>");
    expect(out.html).toContain("&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;");
    expect(out.html).toContain("&quot;&gt;&lt;script&gt;");
    expect(out.subject).not.toMatch(/[\r\n]/);
  });

  it("when templates or data probe prototypes, then nothing leaks and nothing runs", () => {
    const probes = [
      "{{constructor}}", "{{__proto__}}", "{{constructor.constructor}}", "{{#with __proto__}}[{{polluted}}]{{/with}}",
      "{{customer.constructor.name}}", "{{customer.__proto__.toString}}", "{{lookup customer 'constructor'}}",
      "{{#with (lookup this 'constructor')}}{{name}}{{/with}}", "{{data.toString}}", "{{@root.constructor.constructor}}",
      "{{#each customer}}{{@key}}{{/each}}", "{{customer.email.constructor}}", "{{customer.name.length}}",
      `{{#with "s" as |string|}}{{#with "e"}}{{#with split as |conslist|}}{{this.pop}}{{this.push (lookup string.sub "constructor")}}{{this.pop}}{{#with string.split as |codelist|}}{{this.pop}}{{this.push "return require('fs').writeFileSync('/tmp/rapport-pwned','x');"}}{{this.pop}}{{#each conslist}}{{#with (string.sub.apply 0 codelist)}}{{this}}{{/with}}{{/each}}{{/with}}{{/with}}{{/with}}{{/with}}`,
    ];
    const data = JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"x": 1}}}');
    for (const probe of probes) {
      const out = renderMessage(input(unchecked(`<p>[${probe}]</p>`, probe), { data, kind: "transactional" }));
      const body = /<div class="rp-body"[^>]*>([\s\S]*?)<\/div>\s*<div class="rp-footer"/.exec(out.html)![1];
      expect(body, probe).not.toMatch(/function|\[native code\]|Object\]|prototype/);
      expect(out.subject, probe).not.toMatch(/function|native/);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(existsSync("/tmp/rapport-pwned")).toBe(false);
  });

  it("when a marketing message's layout footer is overridden, then rendering is refused; a transactional one passes", () => {
    const t = template({ html: '{{#*inline "footer"}}<p>no footer here</p>{{/inline}}<p>Body</p>' });
    expect(() => renderMessage(input(t))).toThrow(ComplianceError);
    try {
      renderMessage(input(t));
    } catch (err) {
      expect((err as ComplianceError).missing).toEqual(["the unsubscribe link", "the postal address"]);
    }
    expect(renderMessage(input(t, { kind: "transactional" })).html).toContain("no footer here");
  });

  it("when the unsubscribe link only survives inside an HTML comment, then a marketing render is refused", () => {
    const t = template({ html: '{{#*inline "footer"}}<!-- <a href="{{unsubscribeUrl}}">u</a> -->{{sender.postalAddress}}{{/inline}}x' });
    expect(() => renderMessage(input(t))).toThrow(/unsubscribe link/);
  });

  it("when the json helper is used, then it prints in previews and nothing at send time", () => {
    const t = template({ html: "<pre>{{json data}}</pre>" });
    expect(renderMessage(input(t, { data: { a: "<1>" }, mode: "preview" })).html).toContain("&quot;a&quot;: &quot;&lt;1&gt;&quot;");
    expect(renderMessage(input(t, { data: { a: "<1>" } })).html).toContain("<pre></pre>");
  });

  it("when the helpers format, then locale, time zone and fallbacks apply", () => {
    const t = template({
      html: [
        "{{formatDate data.when \"full\" time=\"short\"}}", "{{formatDate data.when \"short\" locale=\"fr-FR\" timeZone=\"America/New_York\"}}",
        "{{formatDate \"nonsense\"}}", "{{formatNumber data.n decimals=2}}", "{{currency data.n \"EUR\" locale=\"de-DE\"}}",
        "{{default customer.attributes.nick \"friend\"}}", "{{uppercase customer.name}}", "{{capitalize \"élan\"}}",
        "{{truncate \"abcdef\" 3}}", "{{pluralize 1 \"item\"}}/{{pluralize 2 \"item\"}}/{{pluralize 2 \"child\" \"children\"}}",
        "{{#if (and (eq customer.attributes.plan \"pro\") (not (lt data.n 10)))}}AND{{/if}}", "{{#ne 1 2}}NE{{/ne}}",
      ].join("|"),
    });
    const out = renderMessage(input(t, { data: { when: "2024-01-15T23:30:00Z", n: 1234.5 }, kind: "transactional" }));
    const body = /<div class="rp-body"[^>]*>\s*([\s\S]*?)\s*<\/div>/.exec(out.html)![1];
    const parts = body.split("|");
    expect(parts[0]).toMatch(/Monday, 15 January 2024 at 23:30/);
    expect(parts[1]).toBe("15/01/2024");
    expect(parts[2]).toBe("");
    expect(parts[3]).toBe("1,234.50");
    expect(parts[4]).toMatch(/1\.234,50\s€/);
    expect(parts.slice(5)).toEqual(["friend", "ANN", "Élan", "abc…", "item/items/children", "AND", "NE"]);
  });

  it("when a helper fails at render time, then a TemplateRenderError names the part", () => {
    const t = template({ subject: "{{#each}}x{{/each}}" });
    expect(() => renderMessage(input(t))).toThrow(TemplateRenderError);
  });

  it("when loops nest beyond the iteration budget, then rendering stops early with a TemplateRenderError naming the part", () => {
    const xs = Array.from({ length: 200 }, (_, i) => i);
    // 200^3 = 8 million iterations (seconds of CPU) without the budget; sections iterate like #each.
    for (const html of [
      "{{#each data.xs}}{{#each @root.data.xs}}{{#each @root.data.xs}}x{{/each}}{{/each}}{{/each}}",
      "{{#data.xs}}{{#@root.data.xs}}{{#@root.data.xs}}x{{/@root.data.xs}}{{/@root.data.xs}}{{/data.xs}}",
    ]) {
      const started = performance.now();
      expect(() => renderMessage(input(template({ html }), { data: { xs } }))).toThrow(/'html' cannot be rendered: the template exceeded its iteration budget/);
      expect(performance.now() - started, html).toBeLessThan(500);
    }
    try {
      renderMessage(input(template({ subject: "{{#each data.xs}}{{#each @root.data.xs}}x{{/each}}{{/each}}" }), { data: { xs } }));
      throw new Error("expected a TemplateRenderError");
    } catch (err) {
      expect(err).toBeInstanceOf(TemplateRenderError);
      expect((err as TemplateRenderError).extra).toEqual({ part: "subject" });
    }
  });

  it("when an inline partial calls itself twice per level, then the budget stops the exponential recursion", () => {
    let nested: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 40; i++) nested = { a: nested };
    const html = '{{#*inline "r"}}{{#if a}}{{> r a}}{{> r a}}{{/if}}.{{/inline}}{{> r data.tree}}';
    const started = performance.now();
    expect(() => renderMessage(input(template({ html }), { data: { tree: nested } }))).toThrow(/iteration budget/);
    expect(performance.now() - started).toBeLessThan(500);
    let shallow: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 5; i++) shallow = { a: shallow };
    expect(renderMessage(input(template({ html }), { data: { tree: shallow } })).html).toContain(".".repeat(63));
  });

  it("when a render would produce more than 2 MB, then it is refused, in a loop or in straight-line output", () => {
    const big = "y".repeat(100 * 1024);
    const loop = template({ html: "{{#each data.xs}}{{@root.data.big}}{{/each}}" });
    expect(() => renderMessage(input(loop, { data: { big, xs: Array.from({ length: 30 }, () => 0) } }))).toThrow(/output exceeded 2 MB/);
    const straight = template({ html: "{{data.big}}".repeat(25) });
    expect(() => renderMessage(input(straight, { data: { big } }))).toThrow(/output exceeded 2 MB/);
    expect(renderMessage(input(straight, { data: { big: "ok" } })).html).toContain("ok".repeat(25));
  });

  it("when one value is printed, escaped or transformed thousands of times, then the text budget stops it early", () => {
    const big = "&".repeat(200 * 1024);
    const list = Array.from({ length: 40_000 }, (_, i) => i); // joins into ~190 KB of text
    // 32 KB of references: 2,700 copies of a 200 KB value, half a GB of work without the budget.
    const refs = (tag: string) => tag.repeat(Math.floor((32 * 1024) / tag.length));
    const cases: Array<[Partial<RenderTemplateVersion>, Record<string, unknown>]> = [
      [{ html: refs("{{data.big}}") }, { big }], // escaping: 1 MB out per reference
      [{ html: refs("{{{data.list}}}") }, { list }], // raw: the list is joined every time
      [{ text: refs("{{data.list}}") }, { list }], // text parts are not escaped
      [{ html: refs("{{uppercase data.big}}") }, { big }],
      [{ html: refs("{{#eq data.big data.big2}}{{/eq}}") }, { big, big2: `${big.slice(1)}x` }],
    ];
    for (const [parts, data] of cases) {
      const t = template(parts);
      // Compile outside the timing (Handlebars compiles on first call).
      resetRenderBudget();
      const c = compiledFor(t, null);
      c.html({});
      c.text?.({});
      const started = performance.now();
      expect(() => renderMessage(input(t, { data, kind: "transactional" })), JSON.stringify(parts).slice(0, 40)).toThrow(/text budget/);
      expect(performance.now() - started, JSON.stringify(parts).slice(0, 40)).toBeLessThan(1000);
    }
  }, 30_000);

  it("when a part stays within the budget, then it renders whatever earlier renders spent; each part has its own budget", () => {
    const xs = Array.from({ length: 200 }, (_, i) => i);
    const cubic = template({ html: "{{#each data.xs}}{{#each @root.data.xs}}{{#each @root.data.xs}}x{{/each}}{{/each}}{{/each}}" });
    expect(() => renderMessage(input(cubic, { data: { xs } }))).toThrow(TemplateRenderError);
    // 0.7 of the budget in the subject, the HTML and the derived text each: fine, as parts are separate.
    const n = Math.floor(RENDER_LIMITS.steps * 0.7);
    const wide = template({ subject: "{{#each data.ys}}{{/each}}s", html: "<p>{{#each data.ys}}z{{/each}}</p>" });
    const out = renderMessage(input(wide, { data: { ys: Array.from({ length: n }, () => 0) } }));
    expect(out.html).toContain("z".repeat(n));
    expect(out.text).toContain("z".repeat(n));
  });

  it("when the same version and variant render again, then the compiled functions come from the cache", () => {
    const t = template({ variants: [{ persona: "p", html: "<p>p</p>" }] });
    const a = compiledFor(t, "p");
    expect(compiledFor(t, "p")).toBe(a);
    expect(compiledFor(t, "unknown")).toBe(compiledFor(t, null)); // no variant: shared default entry
  });
});
