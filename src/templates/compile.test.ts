import juice from "juice";
import { describe, expect, it } from "vitest";
import { htmlDocumentSource } from "./compile.ts";
import { compose, htmlLayout } from "./layout.ts";

// What juice gives when it protects the code blocks itself (quadratic, but the reference).
const reference = (body: string) => juice(compose(htmlLayout, body), { preserveMediaQueries: true, removeStyleTags: true, preserveImportant: true });

describe("htmlDocumentSource", () => {
  it("when the body has Handlebars and EJS blocks anywhere, then the output is exactly juice's own", () => {
    const bodies = [
      '<style>.c { color: #f00; }</style><p class="c" title="{{formatDate data.when "long"}}">{{#if data.x}}a{{else}}b{{/if}}</p>',
      "<p {{#if data.hidden}}hidden{{/if}} class=\"x\">attribute-name position</p>{{{data.raw}}}",
      "<p><% ejs %> and {{a}}{{b}}12 and <%= x %>{{c}}</p>",
      '<style>.c { color: {{data.color}}; }</style><p class="c">css</p>',
      "<p>rapportcodeblock0_ RAPPORTCODEBLOCK1_ {{customer.name}}</p>",
      '{{#each data.items as |it|}}<a href="{{it.url}}" style="color: {{it.c}}">{{it.name}}</a>{{/each}}{{> button href=data.url label="Go"}}',
    ];
    for (const body of bodies) expect(htmlDocumentSource(body), body).toBe(reference(body));
    // Except where juice is wrong: text that looks like its placeholder is replaced by a code block.
    expect(htmlDocumentSource("<p>JUICE_CODE_BLOCK_0_ {{a}}</p>")).toMatch(/<p[^>]*>JUICE_CODE_BLOCK_0_ \{\{a\}\}<\/p>/);
  });

  it("when the body is 256 KB dense with Handlebars tags, then inlining takes well under a second", () => {
    const block = '<div class="card"><h3>{{p.name}}</h3><p>{{truncate p.description 140}} <a href="{{p.url}}">link</a></p>{{#if (gt p.stock 0)}}<span>{{p.stock}}</span>{{else}}<span>none</span>{{/if}}</div>\n';
    const body = `<style>.card { color: red; }</style>{{#each data.products as |p|}}${block.repeat(Math.ceil((256 * 1024) / block.length))}{{/each}}`;
    const started = performance.now();
    const out = htmlDocumentSource(body);
    // juice restoring its own code blocks took about 4 s here: one scan of the document per block.
    expect(performance.now() - started).toBeLessThan(1000);
    expect(out).toContain('<div class="card" style="color: red;"><h3>{{p.name}}</h3>');
  });
});
