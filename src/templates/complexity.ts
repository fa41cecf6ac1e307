// Caps on the work of CSS inlining, checked with one linear scan before juice starts. juice matches
// every CSS rule against every element (css-select), and its tree walk (domutils) shifts a stack
// per level: 3,000 rules x 12,000 elements took a minute, 10,000 nested <b><i><u> tens of seconds.
// Real emails stay below both caps (a large one: 200 rules x 2,000 elements, 20-40 levels); at
// the cap, inlining takes about a second on one core.
import { TemplateTooComplexError } from "./errors.ts";
import { scanHtml } from "./html-scan.ts";

export const PREPARE_LIMITS = {
  /** CSS selectors x elements of one html document (layout included). */
  cssWork: 1_000_000,
  /** Nesting of elements (void elements and those whose end tag may be left out do not count). */
  depth: 250,
} as const;

const VOID = new Set(["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr", "keygen"]);
/** End tag optional: an unclosed <p> or <td> must not look like nesting. */
const OPTIONAL_END = new Set(["p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot", "colgroup", "caption", "rb", "rt", "rtc", "rp", "html", "head", "body"]);

/** Selectors in a style sheet: each selector of each style rule, at-rule blocks (@media) descended. */
export function countSelectors(css: string): number {
  const src = css.replace(/\/\*[\s\S]*?\*\//g, "");
  let count = 0;
  let preludeAt = 0;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i];
    if (ch === "}" || ch === ";") preludeAt = i + 1;
    else if (ch === "{") {
      const prelude = src.slice(preludeAt, i).trim();
      preludeAt = i + 1;
      if (prelude.startsWith("@")) continue; // @media { ... }: its rules follow
      count += prelude.split(",").length;
      // Skip the declarations (no nested rules in email CSS; a stray "{" only makes the count larger).
      const close = src.indexOf("}", i + 1);
      if (close < 0) break;
      i = close;
      preludeAt = i + 1;
    }
  }
  return count;
}

export interface HtmlComplexity {
  selectors: number;
  elements: number;
  depth: number;
}

/** Stops counting depth past `stopAt` (the scan of end tags is then bounded too). */
export function measureHtml(html: string, stopAt: number = PREPARE_LIMITS.depth): HtmlComplexity {
  const out: HtmlComplexity = { selectors: 0, elements: 0, depth: 0 };
  const open: string[] = [];
  scanHtml(html, {
    start(name, _attrs, selfClosing) {
      out.elements++;
      if (selfClosing || VOID.has(name) || OPTIONAL_END.has(name) || open.length > stopAt) return;
      open.push(name);
      if (open.length > out.depth) out.depth = open.length;
    },
    end(name) {
      const at = open.lastIndexOf(name);
      if (at >= 0) open.length = at;
    },
    rawText(name, text) {
      if (name === "style") out.selectors += countSelectors(text);
    },
  });
  return out;
}

/** Throws TemplateTooComplexError (422) naming the part when inlining its CSS would cost too much. */
export function assertInlinable(html: string, part: string): void {
  const m = measureHtml(html);
  const fmt = (n: number) => n.toLocaleString("en");
  if (m.depth > PREPARE_LIMITS.depth) {
    throw new TemplateTooComplexError(`The template part '${part}' nests elements more than ${PREPARE_LIMITS.depth} levels deep`, part);
  }
  if (m.selectors * m.elements > PREPARE_LIMITS.cssWork) {
    throw new TemplateTooComplexError(
      `The template part '${part}' is too complex for CSS inlining: ${fmt(m.selectors)} CSS selectors x ${fmt(m.elements)} elements is more than ${fmt(PREPARE_LIMITS.cssWork)} (the layout included); use fewer rules or inline the styles`,
      part,
    );
  }
}
