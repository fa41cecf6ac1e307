// url-safety.ts's check as it was before its own scanner, verbatim: the oracle of
// url-safety.property.test.ts and the baseline of bench/html-scan.ts, not part of the build
// (tsconfig.build.json). It reads tags with html-scan.ts, which the complexity caps use: the property
// test also holds the fast scanner to that tokenizer.
import { forEachAttribute, scanHtml } from "./html-scan.ts";
import type { UnsafeUrl } from "./url-safety.ts";

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
function urlScheme(raw: string): string | null {
  const v = decodeReferences(raw).replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "").replace(/[\t\n\r]/g, "");
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(v);
  return m ? m[1].toLowerCase() : null;
}

/** The first attribute of the HTML whose URL would run code or load a document, or null. */
export function findUnsafeUrlReference(html: string): UnsafeUrl | null {
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
