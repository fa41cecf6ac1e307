import { describe, expect, it, vi } from "vitest";
import { TemplateCompileError } from "./errors.ts";
import { hbs } from "./handlebars-env.ts";
import { prepareVersion as validateTemplate } from "./prepare.ts";

const fails = (t: Parameters<typeof validateTemplate>[0]) => {
  try {
    validateTemplate(t);
  } catch (err) {
    expect(err).toBeInstanceOf(TemplateCompileError);
    return (err as TemplateCompileError).position;
  }
  throw new Error("expected a TemplateCompileError");
};

describe("validateTemplate", () => {
  it("when a part has a syntax error, then the error names the part, line and column", () => {
    expect(fails({ subject: "s", html: "<p>ok</p>\n<p>{{customer.name</p>" })).toMatchObject({ part: "html", line: 2 });
    expect(fails({ subject: "s", html: "x", variants: [{ persona: "p", html: "a\n\n  {{#if x}}b{{/each}}" }] })).toEqual({ part: "variants.0.html", line: 3, column: 6 });
    expect(fails({ subject: "Hi {{", html: "x" })).toMatchObject({ part: "subject", line: 1 });
    expect(fails({ subject: "s", html: "x", text: "{{#each a}}" })).toMatchObject({ part: "text", line: 1 });
  });

  it("when a template calls an unknown helper or partial, then it does not compile", () => {
    expect(fails({ subject: "s", html: "<p>\n {{shout customer.name}}</p>" })).toEqual({ part: "html", line: 2, column: 4 });
    expect(fails({ subject: "s", html: "{{> missing}}" })).toMatchObject({ part: "html", line: 1, column: 1 });
    expect(fails({ subject: "s", html: "{{log customer}}" })).toMatchObject({ part: "html" });
    expect(fails({ subject: "s", html: "{{#if (frobnicate 1)}}x{{/if}}" })).toMatchObject({ part: "html" });
    expect(fails({ subject: "{{> header}}", html: "x" })).toMatchObject({ part: "subject" }); // layout partials are HTML-only
  });

  it("when variables are outside the render context, then they are warnings; known roots, block params and data are not", () => {
    const { warnings } = validateTemplate({
      subject: "{{customer.name}} {{customre.name}}",
      html: [
        "{{persona.name}} {{data.anything.deep}} {{customer.attributes.x.y}} {{touchpoints.lastOpenAt}} {{sender.postalAddress}}",
        "{{unsubscribeUrl}} {{preferencesUrl}} {{@root.data.x}} {{customer.firstName}} {{whatever}}",
        "{{#each data.items as |item i|}}{{item.name}} {{i}} {{name}} {{../customer.name}} {{../nope}}{{/each}}",
        "{{#if customer.name}}{{customer.name}}{{else}}{{stranger}}{{/if}} {{#with customer}}{{name}}{{/with}} {{../../up}}",
        "{{> button href=data.url label=labl}} {{#*inline \"header\"}}{{sender.name}}{{/inline}}",
      ].join("\n"),
    });
    const names = warnings.map((w) => `${w.part}:${w.line}:${/'([^']+)'/.exec(w.message)![1]}`);
    expect(names).toEqual([
      "subject:1:customre.name",
      "html:2:customer.firstName",
      "html:2:whatever",
      "html:3:../nope",
      "html:4:stranger",
      "html:4:../../up",
      "html:5:labl",
      "html:5:{{> ... href=data.url}}", // the button's whole URL comes with each send
    ]);
  });

  it("when raw triple-stash output is used in HTML, then it is a warning", () => {
    const { warnings } = validateTemplate({ subject: "s", html: "{{{data.snippet}}}" });
    expect(warnings).toEqual([expect.objectContaining({ part: "html", line: 1, column: 1, message: expect.stringMatching(/raw HTML/) })]);
  });

  it("when many variants share the default html, then it is compiled inside the layout once, not once per variant", () => {
    const variants = Array.from({ length: 50 }, (_, i) => ({ persona: `p${i}`, subject: `For {{persona.name}} ${i}` }));
    const spy = vi.spyOn(hbs, "precompile");
    try {
      validateTemplate({ subject: "s", html: "<p>{{customer.name}}</p>", variants });
      // Each of the 52 parts on its own, then the shared html document and its derived text once.
      expect(spy).toHaveBeenCalledTimes(52 + 2);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("nesting and per-send values in lint", () => {
  it("when subexpressions or blocks nest thousands deep, then it is a compile error naming part and line, not a crash", () => {
    const deepSub = `<p>ok</p>\n{{eq ${"(eq ".repeat(3000)}1 1${")".repeat(3000)} 1}}`;
    expect(fails({ subject: "s", html: deepSub })).toMatchObject({ part: "html", line: 2 });
    expect(fails({ subject: `{{eq ${"(eq ".repeat(3000)}1 1${")".repeat(3000)} 1}}`, html: "x" })).toMatchObject({ part: "subject", line: 1 });
    const deepBlocks = `${"{{#if a}}".repeat(3000)}x${"{{/if}}".repeat(3000)}`;
    expect(fails({ subject: "s", html: "x", variants: [{ persona: "p", html: deepBlocks }] })).toMatchObject({ part: "variants.0.html", line: 1 });
    const chain = `{{#if a}}${Array.from({ length: 3000 }, (_, i) => `{{else if (eq a ${i})}}${i}`).join("")}{{/if}}`;
    expect(fails({ subject: "s", html: chain })).toMatchObject({ part: "html" });
    // Ordinary nesting, strings with parentheses, comments and else are fine.
    const fine = '{{#if (and (eq data.a 1) (or (gt data.b 2) (not data.c)))}}{{#each data.xs}}{{#with this}}{{default x "(((("}}{{/with}}{{else}}none{{/each}}{{/if}}{{!-- (((( --}}';
    expect(validateTemplate({ subject: "s", html: fine }).warnings).toEqual([]);
  });

  it("when a whole URL or raw HTML comes from per-send data, then it is a warning; fixed schemes and trusted links are not", () => {
    const { warnings } = validateTemplate({
      subject: "{{{data.subject}}}",
      html: [
        '<a href="{{data.url}}">a</a> <img src={{customer.attributes.avatar}}> <a HREF=\'{{default data.link "#"}}\'>b</a>',
        '{{#each data.links as |l|}}<a href="{{l.url}}">{{l.name}}</a>{{/each}} {{#with customer}}<a href="{{attributes.site}}">s</a>{{/with}}',
        '{{> button href=data.cta label="Go"}} {{{data.snippet}}}',
        '<a href="https://x.test/{{data.path}}">ok</a> <a href="{{unsubscribeUrl}}">u</a> <a href="{{@root.preferencesUrl}}">p</a> <img src="{{persona.key}}.png"> <p title="{{data.t}}">t</p> {{{sender.name}}}',
        '{{> button href=preferencesUrl label=data.label}}',
      ].join("\n"),
    });
    const found = warnings.map((w) => `${w.part}:${w.line}:${/^'([^']+|[^']*'[^']*)'/.exec(w.message)![1]}`);
    expect(found).toEqual([
      'html:1:href="{{data.url}}',
      "html:1:src={{customer.attributes.avatar}}",
      "html:1:HREF=",
      "html:2:href=\"{{l.url}}",
      'html:2:href="{{attributes.site}}',
      "html:3:{{> ... href=data.cta}}",
      "html:3:{{{data.snippet}}}",
      "html:4:{{{sender.name}}}",
    ]);
    expect(warnings[0].message).toMatch(/javascript: link/);
    expect(warnings.find((w) => w.message.includes("data.snippet"))!.message).toMatch(/per-send data as raw HTML/);
    expect(warnings.find((w) => w.message.includes("sender.name"))!.message).toMatch(/^'\{\{\{sender.name\}\}\}' inserts raw HTML without escaping/);
  });
});
