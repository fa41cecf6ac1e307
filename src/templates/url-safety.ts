// Links that run code: the final HTML of every message is checked for javascript:, vbscript: and
// data: URLs in the attributes a mail client or browser follows. The value is read as a browser
// reads it: character references decoded (jav&#x09;ascript:, &#106;avascript:), leading and
// trailing spaces and controls stripped, tabs and line breaks removed anywhere, scheme in any case.
//
// One linear pass per message, no DOM; and as every message goes through it, one that skips
// (html-skim.ts): a search finds where an attribute value could start such a scheme at all (in most
// email nowhere, and the check ends there), and only tags holding such a place have their
// attributes read. url-safety.property.test.ts compares this check with the former one, built on
// html-scan.ts's scanHtml (url-safety.reference.ts), on generated hostile HTML.
import { forEachAttribute } from "./html-scan.ts";
import { findInMarkedTags } from "./html-skim.ts";

const URL_ATTRIBUTES = new Set(["href", "src", "action", "formaction", "xlink:href", "background", "poster", "lowsrc", "dynsrc"]);
const DANGEROUS = new Set(["javascript", "vbscript", "data"]);
/** Inline raster images (data:image/png;base64,...) are common in email and cannot run script; SVG can. */
const SAFE_DATA_IMAGE = /^data:image\/(png|gif|jpe?g|webp|bmp)[;,]/i;
const NAMED: Record<string, string> = { colon: ":", tab: "\t", newline: "\n", nbsp: "\u00a0" };

/** A character reference that can decode to part of a scheme (&amp; is left as it is, &nbsp; ends one). */
const REF = "&(?:#|colon|tab|newline)";
/** `s` spelled out (in any case) until a tab, line break or reference, removed or decoded later, leaves the rest open. */
const spelled = (s: string): string => (s ? `(?:[\\t\\n\\r]|${REF}|${s[0]}${spelled(s.slice(1))})` : "");
/**
 * An attribute value that urlScheme could read as javascript:, vbscript: or data:, from its "=":
 * spaces, controls and maybe a quote, then a reference or the scheme spelled out. A necessary
 * condition on the raw text: a tag with no match in its attribute text holds no unsafe URL. The
 * spaces on each side of the quote are matched apart, as [\0-\x20]*["']?[\0-\x20]* would retry
 * every split of a long run of spaces (seconds for 100,000).
 */
const MAY_BE_UNSAFE = new RegExp(
  `=[\\0-\\x20]*(?:["'][\\0-\\x20]*)?(?:${REF}|j${spelled("avascript:")}|v${spelled("bscript:")}|d${spelled("ata:")})`,
  "iy",
);

function decodeReferences(v: string): string {
  if (!v.includes("&")) return v;
  return v.replace(/&(?:#(\d+)|#x([0-9a-f]+)|(colon|tab|newline|nbsp));?/gi, (m, dec?: string, hex?: string, name?: string) => {
    if (name) return NAMED[name.toLowerCase()];
    const cp = dec !== undefined ? Number(dec) : parseInt(hex!, 16);
    return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : "\ufffd";
  });
}

/** The scheme a browser would use for this attribute value, lower case, or null (relative URL). */
export function urlScheme(raw: string): string | null {
  const v = decodeReferences(raw).replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "").replace(/[\t\n\r]/g, "");
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(v);
  return m ? m[1].toLowerCase() : null;
}

export interface UnsafeUrl {
  attribute: string;
  scheme: string;
}

/** The first unsafe URL among a start tag's raw attribute text. */
export function unsafeAttribute(attrs: string): UnsafeUrl | null {
  let found: UnsafeUrl | null = null;
  forEachAttribute(attrs, (attribute, value) => {
    if (found || !URL_ATTRIBUTES.has(attribute)) return;
    const scheme = urlScheme(value);
    if (scheme === null || !DANGEROUS.has(scheme)) return;
    if (scheme === "data" && attribute === "src" && SAFE_DATA_IMAGE.test(decodeReferences(value).trim())) return;
    found = { attribute, scheme };
  });
  return found;
}

/** The first "=" from `from` on where MAY_BE_UNSAFE matches, or -1. Most values fail on their first
 * character, tested here before the regex: twice as fast as a global regex on a real email. */
function nextMayBeUnsafe(html: string, from: number): number {
  const n = html.length;
  for (let e = html.indexOf("=", from); e >= 0; e = html.indexOf("=", e + 1)) {
    let k = e + 1;
    while (k < n && html.charCodeAt(k) <= 0x20) k++;
    const q = html.charCodeAt(k);
    if (q === 34 || q === 39) {
      k++;
      while (k < n && html.charCodeAt(k) <= 0x20) k++;
    }
    // "&", j, v or d in any case (|0x20 lower-cases a letter; 0x06 would pass too, but was skipped).
    const c = html.charCodeAt(k) | 0x20;
    if (c !== 0x26 && c !== 0x6a && c !== 0x76 && c !== 0x64) continue;
    MAY_BE_UNSAFE.lastIndex = e;
    if (MAY_BE_UNSAFE.test(html)) return e;
  }
  return -1;
}

/** The first attribute of the HTML whose URL would run code or load a document, or null. */
export function findUnsafeUrl(html: string): UnsafeUrl | null {
  return findInMarkedTags(html, (from) => nextMayBeUnsafe(html, from), unsafeAttribute);
}
