// Links that run code: the final HTML of every message is checked for javascript:, vbscript: and
// data: URLs in the attributes a mail client or browser follows. The value is read as a browser
// reads it: character references decoded (jav&#x09;ascript:, &#106;avascript:), leading and
// trailing spaces and controls stripped, tabs and line breaks removed anywhere, scheme in any case.
// One linear scan per message (html-scan.ts), no DOM.
import { forEachAttribute, scanHtml } from "./html-scan.ts";

const URL_ATTRIBUTES = new Set(["href", "src", "action", "formaction", "xlink:href", "background", "poster", "lowsrc", "dynsrc"]);
/** Cheap pre-test of a tag's attribute text: most tags (p, td, span) name none of the URL attributes. */
const MAY_HAVE_URL = /href|src|action|background|poster/i;
const DANGEROUS = new Set(["javascript", "vbscript", "data"]);
/** Inline raster images (data:image/png;base64,...) are common in email and cannot run script; SVG can. */
const SAFE_DATA_IMAGE = /^data:image\/(png|gif|jpe?g|webp|bmp)[;,]/i;
const NAMED: Record<string, string> = { colon: ":", tab: "\t", newline: "\n", nbsp: "\u00a0" };

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

/** The first attribute of the HTML whose URL would run code or load a document, or null. */
export function findUnsafeUrl(html: string): UnsafeUrl | null {
  let found: UnsafeUrl | null = null;
  scanHtml(html, {
    start(_name, attrs) {
      if (found || !MAY_HAVE_URL.test(attrs)) return;
      forEachAttribute(attrs, (attribute, value) => {
        if (found || !URL_ATTRIBUTES.has(attribute)) return;
        const scheme = urlScheme(value);
        if (scheme === null || !DANGEROUS.has(scheme)) return;
        if (scheme === "data" && attribute === "src" && SAFE_DATA_IMAGE.test(decodeReferences(value).trim())) return;
        found = { attribute, scheme };
      });
    },
  });
  return found;
}
