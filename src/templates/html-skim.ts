// A skim over HTML start tags for checks that look for something rare (url-safety.ts): a search
// for marks, places where what is sought could be, goes ahead; tags are delimited only up to the
// last mark, with indexOf jumps and no string made per tag, and only the attribute text of a tag
// holding a mark is cut out for the check. The tags are delimited exactly as scanHtml does
// (html-scan.ts), quirks included, as the check must see the tags the complexity caps see:
// url-safety.property.test.ts compares the URL check built on each. Change both together.
import { RAW_TEXT_ELEMENTS } from "./html-scan.ts";

/** Elements whose content is text up to their end tag: a "<a href=...>" in a <style> is no tag. */
const RAW_TEXT = RAW_TEXT_ELEMENTS.map((name) => ({ name, end: new RegExp(`</${name}[\\s/>]`, "gi") }));
const isSpace = (c: number) => c === 32 || c === 10 || c === 9 || c === 13 || c === 12;
const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const endsName = (c: number) => isSpace(c) || c === 47 || c === 62;

/** html[at, end) is `name` (lower-case letters) in any case: what lower-casing it would compare, as
 * no other character lower-cases to such a letter (U+212A only to "k", U+0130 to two characters). */
function isName(html: string, at: number, end: number, name: string): boolean {
  if (end - at !== name.length) return false;
  for (let k = 0; k < name.length; k++) {
    const c = html.charCodeAt(at + k);
    if (c !== name.charCodeAt(k) && c !== name.charCodeAt(k) - 32) return false;
  }
  return true;
}

/** The end tag search of the raw-text element named html[at, end), if it is one. */
function rawTextEnd(html: string, at: number, end: number): RegExp | undefined {
  if (end - at < 3) return undefined; // td, tr, p, a, br: shorter than any
  for (const r of RAW_TEXT) if (isName(html, at, end, r.name)) return r.end;
  return undefined;
}

/** Index just past the tag whose attributes start at `k`: its first ">" not in a quoted value,
 * where a quote counts after "=" and spaces, whatever precedes the "=" (as scanHtml's TAG_END). */
function tagEnd(html: string, k: number): number {
  const n = html.length;
  while (k < n) {
    const c = html.charCodeAt(k);
    if (c === 62) return k + 1;
    k++;
    if (c !== 61) continue;
    while (k < n && isSpace(html.charCodeAt(k))) k++;
    const q = html.charCodeAt(k);
    if (q === 34 || q === 39) {
      const close = html.indexOf(q === 34 ? '"' : "'", k + 1);
      if (close < 0) return n;
      k = close + 1;
    }
  }
  return n;
}

/**
 * The first non-null `check` of the raw attribute text (as scanHtml passes it) of a start tag
 * holding a mark, or null. `nextMark(from)`: the first mark at or after `from`, -1 if none; a tag
 * holds one when it falls before the end of its attribute text.
 */
export function findInMarkedTags<T>(html: string, nextMark: (from: number) => number, check: (attrs: string) => T | null): T | null {
  const n = html.length;
  let mark = -1;
  let i = html.indexOf("<");
  while (i >= 0 && i < n - 1) {
    if (mark < i) {
      mark = nextMark(i);
      if (mark < 0) return null; // no tag from here on holds one
    }
    const next = html.charCodeAt(i + 1);
    if (next === 33 && html.startsWith("--", i + 2)) {
      const close = html.indexOf("-->", i + 4);
      if (close < 0) return null;
      i = html.indexOf("<", close + 3);
      continue;
    }
    const closing = next === 47;
    const nameAt = closing ? i + 2 : i + 1;
    if (!isAlpha(html.charCodeAt(nameAt))) {
      // "<!DOCTYPE", "<?", "</ x", "< 3": not a tag.
      if (next === 33 || next === 63 || closing) i = html.indexOf(">", i + 1);
      i = i < 0 ? -1 : html.indexOf("<", i + 1);
      continue;
    }
    let j = nameAt + 1;
    while (j < n && !endsName(html.charCodeAt(j))) j++;
    const end = tagEnd(html, j);
    if (!closing) {
      // The attribute text, as scanHtml cuts it: without "/>", or the last character when unterminated.
      const selfClosing = html.charCodeAt(end - 2) === 47 && html.charCodeAt(end - 1) === 62;
      const attrsEnd = selfClosing ? end - 2 : end - 1;
      const found = mark < attrsEnd ? check(html.slice(j, attrsEnd)) : null;
      if (found !== null) return found;
      const raw = selfClosing ? undefined : rawTextEnd(html, nameAt, j);
      if (raw) {
        raw.lastIndex = end;
        const close = raw.exec(html);
        if (!close) return null;
        i = close.index;
        continue;
      }
    }
    i = html.indexOf("<", end);
  }
  return null;
}
