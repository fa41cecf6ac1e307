// Plain text from HTML. html-to-text costs ~50 µs per KB, several times a whole Handlebars render,
// so when a template has no text part we derive a text *template* from the HTML template once per
// compiled variant, and render that. How: every Handlebars tag in the HTML source is replaced by an
// opaque placeholder word, html-to-text converts the result, and the tags are put back.
//
// It is only used when it provably keeps the template's structure: every block, else, partial and
// inline tag must come out exactly once and in the same order (plain {{value}} tags may vanish:
// they sat in attributes that text does not show). Otherwise (tags inside attributes such as
// class="{{#if}}", raw HTML output, unusual escapes) deriveTextSource returns null and the text is
// derived from each rendered HTML instead: slower, never wrong.
import { compile as compileHtmlToText } from "html-to-text";

const heading = (selector: string) => ({ selector, options: { uppercase: false } });
/** Built once: html-to-text's compile() is far cheaper per call than convert(). */
export const htmlToText = compileHtmlToText({
  wordwrap: false,
  selectors: [
    { selector: "a", options: { hideLinkHrefIfSameAsText: true } },
    { selector: "img", format: "skip" },
    ...["h1", "h2", "h3", "h4", "h5", "h6"].map(heading),
    // Layout tables, not data tables: their cells are just blocks of text.
    ...["table", "tbody", "thead", "tfoot", "tr", "td", "th"].map((selector) => ({ selector, format: "block" })),
  ],
});

type Piece = { content: string } | { tag: string; kind: "value" | "structure" };

/** Splits a Handlebars source into content and tags; null when it uses syntax we do not rewrite. */
function scan(src: string): Piece[] | null {
  if (/[\uE000\uE001]|\\\{\{|\{\{\{\{/.test(src)) return null;
  const out: Piece[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf("{{", i);
    if (open < 0) {
      out.push({ content: src.slice(i) });
      break;
    }
    if (open > i) out.push({ content: src.slice(i, open) });
    const head = src.slice(open + 2).replace(/^~/, "");
    let end: number;
    if (head.startsWith("!--")) end = src.indexOf("--}}", open) + 4;
    else {
      // Up to the first "}}" outside a string literal or a [segment].
      let quote: string | null = null;
      end = -1;
      for (let j = open + 2; j < src.length - 1; j++) {
        const ch = src[j];
        if (quote) {
          if (ch === quote) quote = null;
        } else if (ch === '"' || ch === "'") quote = ch;
        else if (ch === "[") quote = "]";
        else if (ch === "}" && src[j + 1] === "}") {
          end = j + 2;
          break;
        }
      }
    }
    if (end < 2) return null;
    if (src[end] === "}") return null; // {{{raw}}}: raw HTML has no faithful text form
    const tag = src.slice(open, end);
    i = end;
    if (head.startsWith("!")) continue; // comments vanish
    if (head.startsWith("&")) return null;
    const structural = /^(#|\/|\^|>|\*|else(?=[\s~}]))/.test(head);
    out.push({ tag, kind: structural ? "structure" : "value" });
  }
  return out;
}

const mark = (n: number) => `\uE000${n}\uE001`;

/** The text template for an HTML template source (composed with the layout), or null. */
export function deriveTextSource(htmlSource: string): string | null {
  const pieces = scan(htmlSource);
  if (!pieces) return null;
  const tags: Array<{ tag: string; kind: string }> = [];
  const withMarks = pieces.map((p) => ("content" in p ? p.content : mark(tags.push(p) - 1))).join("");
  const text = htmlToText(withMarks);
  const seen: number[] = [];
  const plain = text.replace(/\uE000(\d+)\uE001/g, (_, n: string) => {
    seen.push(Number(n));
    return "";
  });
  if (/\{\{|\\|[\uE000\uE001]/.test(plain)) return null; // literal braces or escapes would turn into tags
  if (new Set(seen).size !== seen.length) return null;
  const structure = tags.flatMap((t, n) => (t.kind === "structure" ? [n] : []));
  const kept = seen.filter((n) => tags[n].kind === "structure");
  if (kept.length !== structure.length || kept.some((n, k) => n !== structure[k])) return null;
  return text.replace(/\uE000(\d+)\uE001/g, (_, n: string) => tags[Number(n)].tag);
}

/** Blank-line and trailing-space clean-up for text rendered from a derived template. */
export const tidyText = (s: string) => s.replace(/[ \t]+$/gm, "").replace(/\n{3,}/g, "\n\n").trim();
