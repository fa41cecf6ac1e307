// url-safety.ts's check as it was before its own scanner: tags found by html-scan.ts (which the
// complexity caps use), each tag's attributes read by the same unsafeAttribute as today. The oracle
// of url-safety.property.test.ts (it holds the fast skimming to that tokenizer) and the baseline of
// bench/html-scan.ts; not part of the build (tsconfig.build.json).
import { scanHtml } from "./html-scan.ts";
import { unsafeAttribute, type UnsafeUrl } from "./url-safety.ts";

/** Cheap pre-test of a tag's attribute text: most tags (p, td, span) name none of the URL attributes. */
const MAY_HAVE_URL = /href|src|action|background|poster/i;

/** The first attribute of the HTML whose URL would run code or load a document, or null. */
export function findUnsafeUrlReference(html: string): UnsafeUrl | null {
  let found: UnsafeUrl | null = null;
  scanHtml(html, {
    start(_name, attrs) {
      if (!found && MAY_HAVE_URL.test(attrs)) found = unsafeAttribute(attrs);
    },
  });
  return found;
}
