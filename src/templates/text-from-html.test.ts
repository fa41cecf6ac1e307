import { describe, expect, it } from "vitest";
import { htmlDocumentSource } from "./compile.ts";
import { compiledFor, rememberPrepared } from "./compiled.ts";
import { prepareVersion } from "./prepare.ts";
import { renderMessage } from "./render.ts";
import type { RenderInput } from "./render.types.ts";
import { deriveTextSource, htmlToText } from "./text-from-html.ts";

let seq = 0;
const squash = (s: string) => s.replace(/\s+/g, " ").trim();
const render = (html: string, data: Record<string, unknown> = {}) => {
  const input: RenderInput = {
    template: { id: `txt-${++seq}`, key: "k", version: 1, subject: "s", html, text: null, variants: [] },
    customer: { id: "c", name: "Zoë <z>", email: "z@example.com", locale: "en", timezone: null, attributes: { tier: "gold" } },
    persona: null,
    data,
    unsubscribeUrl: "https://r.test/u/a.b",
    preferencesUrl: "https://r.test/preferences/c",
    kind: "marketing",
  };
  rememberPrepared(input.template.id, prepareVersion(input.template));
  return { out: renderMessage(input), compiled: compiledFor(input.template, null) };
};

describe("text derived from the HTML template", () => {
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ["plain paragraphs", "<h1>Hi {{customer.name}}</h1><p>Your tier: {{customer.attributes.tier}}</p>", {}],
    ["each with links", '<ul>{{#each data.items as |it|}}<li><a href="{{it.url}}">{{it.name}}</a> {{currency it.price "EUR"}}</li>{{/each}}</ul>', { items: [{ url: "https://x.test/1?a=1&b=2", name: "One", price: 3 }, { url: "https://x.test/2", name: "Two & <b>", price: 4.5 }] }],
    ["if / else and partials", '{{#if data.vip}}<p>VIP {{uppercase customer.name}}</p>{{else}}<p>Regular</p>{{/if}}{{> button href=data.url label="Go now"}}{{> signature}}', { vip: true, url: "https://x.test/go" }],
    ["layout tables", '<table><tr>{{#each data.cols}}<td>{{this}}</td>{{/each}}</tr></table><p>after</p>', { cols: ["a", "b"] }],
    ["values in attributes", '<p title="{{customer.name}}" class="x-{{data.c}}">Body {{data.c}}</p>', { c: "k" }],
  ];
  for (const [name, html, data] of cases) {
    it(`when the HTML has ${name}, then the derived text template gives the text of the rendered HTML`, () => {
      const { out, compiled } = render(html, data);
      expect(compiled.textDerived).toBe(true);
      expect(squash(out.text)).toBe(squash(htmlToText(out.html)));
    });
  }

  it("when tags sit where text cannot keep them, then there is no derived template and text comes from each render", () => {
    for (const html of ['<p class="{{#if data.x}}a{{/if}}">x</p>', "<p>{{{data.raw}}}</p>", "<p>\\{{literal}}</p>", "<p>&#123;&#123;x}}</p>"]) {
      expect(deriveTextSource(htmlDocumentSource(html)), html).toBeNull();
      const { out, compiled } = render(html, { x: true, raw: "<b>bold</b>" });
      expect(compiled.textDerived).toBe(false);
      expect(out.text).toBe(htmlToText(out.html));
    }
  });
});
