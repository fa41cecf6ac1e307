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
