// A linear scan of HTML start and end tags, without building a DOM: for the checks that must stay
// cheap (the complexity caps before CSS inlining, the URL check of every rendered message). It
// follows the HTML tokenizer where that matters for those checks: quotes count only around
// attribute values, comments and the content of raw-text elements (style, script, ...) are not tags.
// The URL check delimits tags with its own faster pass, html-skim.ts, which must agree with
// scanHtml (url-safety.property.test.ts compares them): change both together.

export interface TagVisitor {
  /** A start tag; `attrs` is its raw attribute text, `selfClosing` when it ends with "/>". */
  start?(name: string, attrs: string, selfClosing: boolean): void;
  end?(name: string): void;
  /** The content of a raw-text element such as <style>. */
  rawText?(name: string, text: string): void;
}

export const RAW_TEXT_ELEMENTS = ["style", "script", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "plaintext"];
const RAW_TEXT = new Set(RAW_TEXT_ELEMENTS);
const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isSpace = (ch: string) => ch === " " || ch === "\n" || ch === "\t" || ch === "\r" || ch === "\f";

/** A quoted attribute value (skipped whole: it may hold ">") or the end of the tag. */
const TAG_END = /=[\t\n\f\r ]*(?:"[^"]*"?|'[^']*'?)|>/g;

/** Index just past the end of the tag whose attributes start at `i`, honouring quoted values. */
function tagEnd(html: string, i: number): number {
  TAG_END.lastIndex = i;
  for (let m = TAG_END.exec(html); m; m = TAG_END.exec(html)) if (m[0] === ">") return m.index + 1;
  return html.length;
}

export function scanHtml(html: string, visit: TagVisitor): void {
  const n = html.length;
  let i = html.indexOf("<");
  while (i >= 0 && i < n - 1) {
    const next = html[i + 1];
    if (html.startsWith("<!--", i)) {
      const close = html.indexOf("-->", i + 4);
      if (close < 0) return;
      i = html.indexOf("<", close + 3);
      continue;
    }
    const closing = next === "/";
    const nameAt = closing ? i + 2 : i + 1;
    if (!isAlpha(html.charCodeAt(nameAt))) {
      // "<!DOCTYPE", "<?", "< 3": not a tag we track.
      if (next === "!" || next === "?" || closing) i = html.indexOf(">", i + 1);
      i = i < 0 ? -1 : html.indexOf("<", i + 1);
      continue;
    }
    let j = nameAt;
    while (j < n && !isSpace(html[j]) && html[j] !== "/" && html[j] !== ">") j++;
    const name = html.slice(nameAt, j).toLowerCase();
    const end = tagEnd(html, j);
    if (closing) visit.end?.(name);
    else {
      const selfClosing = html[end - 2] === "/" && html[end - 1] === ">";
      visit.start?.(name, html.slice(j, selfClosing ? end - 2 : end - 1), selfClosing);
      if (RAW_TEXT.has(name) && !selfClosing) {
        const re = new RegExp(`</${name}[\\s/>]`, "gi");
        re.lastIndex = end;
        const m = re.exec(html);
        const stop = m ? m.index : n;
        visit.rawText?.(name, html.slice(end, stop));
        i = m ? html.indexOf("<", stop) : -1;
        if (m) continue;
        return;
      }
    }
    i = html.indexOf("<", end);
  }
}

/** Each attribute of a start tag's raw attribute text: name (lower case) and raw value ("" if none). */
export function forEachAttribute(attrs: string, fn: (name: string, value: string) => void): void {
  const n = attrs.length;
  let i = 0;
  while (i < n) {
    while (i < n && (isSpace(attrs[i]) || attrs[i] === "/")) i++;
    if (i >= n) return;
    const start = i;
    // The first character may be "=" (the tokenizer takes it as part of the name).
    i++;
    while (i < n && !isSpace(attrs[i]) && attrs[i] !== "/" && attrs[i] !== "=") i++;
    const name = attrs.slice(start, i).toLowerCase();
    while (i < n && isSpace(attrs[i])) i++;
    if (attrs[i] !== "=") {
      fn(name, "");
      continue;
    }
    i++;
    while (i < n && isSpace(attrs[i])) i++;
    const q = attrs[i];
    let value: string;
    if (q === '"' || q === "'") {
      const close = attrs.indexOf(q, i + 1);
      value = attrs.slice(i + 1, close < 0 ? n : close);
      i = close < 0 ? n : close + 1;
    } else {
      const s = i;
      while (i < n && !isSpace(attrs[i])) i++;
      value = attrs.slice(s, i);
    }
    fn(name, value);
  }
}
