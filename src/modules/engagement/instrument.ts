// Tracking at composition, in one linear pass over the rendered HTML: every http(s) link is replaced
// by its click-tracking URL (the original goes into `links`, by index), an open pixel is added before
// </body>, and marketing mail gets a hidden honeypot link no human can see or reach. Links to
// Rapport's own pages (unsubscribe, preferences, confirm) and non-web links stay as they are.
import { config } from "../../platform/config.ts";
import { clickUrl, HONEYPOT, openUrl } from "./tokens.ts";

export interface InstrumentOptions {
  messageId: string;
  opens: boolean;
  clicks: boolean;
  honeypot: boolean;
}

export interface Instrumented {
  html: string;
  /** Original URLs, decoded from the HTML; a click token names one by its index. */
  links: string[];
}

const anchor = /<a\s[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)')/gi;
const MAX_LINKS = 500;

const entities: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
/** An attribute value as the mail client reads it (Handlebars escapes & and = in URLs). */
export function decodeAttr(v: string): string {
  return v.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === "#") {
      const n = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(n) && n > 0 && n < 0x110000 ? String.fromCodePoint(n) : m;
    }
    return entities[e.toLowerCase()] ?? m;
  });
}

const own = () => [`${config.publicUrl}/u/`, `${config.publicUrl}/preferences/`, `${config.publicUrl}/confirm/`, `${config.publicUrl}/t/`];

export function instrumentHtml(html: string, o: InstrumentOptions): Instrumented {
  const links: string[] = [];
  const indexOf = new Map<string, number>();
  const skip = own();
  let out = html;
  if (o.clicks) {
    out = html.replace(anchor, (tag: string, dq: string | undefined, sq: string | undefined) => {
      const value = dq ?? sq ?? "";
      const url = decodeAttr(value).trim();
      if (!/^https?:\/\//i.test(url) || skip.some((p) => url.startsWith(p))) return tag;
      let i = indexOf.get(url);
      if (i === undefined) {
        if (links.length >= MAX_LINKS) return tag;
        i = links.push(url) - 1;
        indexOf.set(url, i);
      }
      // Only the value changes; the tag's other attributes and its quoting stay as written.
      const q = dq !== undefined ? '"' : "'";
      const at = tag.lastIndexOf(`${q}${value}${q}`);
      return `${tag.slice(0, at)}${q}${clickUrl(o.messageId, i)}${q}${tag.slice(at + value.length + 2)}`;
    });
  }
  let tail = "";
  if (o.clicks && o.honeypot) {
    tail += `<a href="${clickUrl(o.messageId, HONEYPOT)}" style="display:none !important;font-size:0;max-height:0;overflow:hidden;mso-hide:all" aria-hidden="true" tabindex="-1"></a>`;
  }
  if (o.opens) {
    tail += `<img src="${openUrl(o.messageId)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0;opacity:0" aria-hidden="true">`;
  }
  if (tail) {
    const end = out.toLowerCase().lastIndexOf("</body>");
    out = end >= 0 ? `${out.slice(0, end)}${tail}${out.slice(end)}` : out + tail;
  }
  return { html: out, links };
}
