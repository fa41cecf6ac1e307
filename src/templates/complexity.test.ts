import { describe, expect, it } from "vitest";
import { assertInlinable, countSelectors, measureHtml, PREPARE_LIMITS } from "./complexity.ts";
import { TemplateTooComplexError } from "./errors.ts";

describe("complexity caps", () => {
  it("when counting CSS, then each selector of each rule counts, inside @media too, comments not", () => {
    expect(countSelectors("a { color: red } .x, .y > p{margin:0}")).toBe(3);
    expect(countSelectors("@media (max-width: 600px) { .a, .b { x: 1 } .c { y: 2 } } /* .z, .w { } */ p{}")).toBe(4);
    expect(countSelectors("@import url(x.css); h1 { a: b }")).toBe(1);
  });

  it("when measuring HTML, then elements, style selectors and nesting are counted; void and optional-end tags do not nest", () => {
    const html = '<style>.a, .b { c: d }</style><div><table><tr><td><p>x<p>y<br><img src="a>b"></td></tr></table></div><ul><li>1<li>2</ul>';
    expect(measureHtml(html)).toEqual({ selectors: 2, elements: 12, depth: 2 });
    expect(measureHtml("<b><i><u>".repeat(50)).depth).toBe(150);
    expect(measureHtml("<b><i><u>".repeat(10_000)).depth).toBe(PREPARE_LIMITS.depth + 1); // counting stops past the cap
    expect(measureHtml("<div>".repeat(100) + "</div>".repeat(100) + "<span></span>").depth).toBe(100);
    expect(measureHtml("<!-- <div><div> --><textarea><div></textarea>").depth).toBe(1);
  });

  it("when the work would cross a cap, then a 422 names the part before any inlining; below, nothing", () => {
    const rules = (n: number) => `<style>${Array.from({ length: n }, (_, i) => `.c${i} p{x:y}`).join("")}</style>`;
    const els = (n: number) => "<p>x</p>".repeat(n);
    expect(() => assertInlinable(rules(99) + els(9_999), "html")).not.toThrow(); // 99 x 10,000 (the style element counts): under the cap
    const over = () => assertInlinable(rules(100) + els(10_000), "variants.2.html");
    expect(over).toThrow(TemplateTooComplexError);
    expect(over).toThrow(/'variants.2.html' is too complex for CSS inlining: 100 CSS selectors x 10,001 elements/);
    expect(() => assertInlinable("<b>".repeat(PREPARE_LIMITS.depth + 1), "html")).toThrow(/nests elements more than 250 levels deep/);
    expect(() => assertInlinable("<b>".repeat(PREPARE_LIMITS.depth), "html")).not.toThrow();
  });
});
