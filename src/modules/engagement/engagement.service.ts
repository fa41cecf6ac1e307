// Use cases of the public tracking endpoints. They read only the token and Redis (the link cache)
// and hand the hit to the stream: no database wait on the request path.
import { captureHit } from "./capture.ts";
import { linkOf } from "./links.ts";
import { HONEYPOT, readTrackingToken } from "./tokens.ts";

export interface HitContext {
  method: string;
  ip: string | null;
  userAgent: string | null;
}

/** Records the open when the token is ours; the pixel is served either way. */
export function recordOpen(token: string, ctx: HitContext): void {
  const t = readTrackingToken(token, "open");
  if (!t) return;
  captureHit({ type: "open", messageId: t.messageId, linkIndex: null, method: ctx.method, ip: ctx.ip, ua: ctx.userAgent, at: Date.now() });
}

/**
 * The URL to redirect to, "honeypot" for the hidden link, or null (404) for a tampered token or an
 * index the message never had: never a redirect anywhere else.
 */
export async function resolveClick(token: string, ctx: HitContext): Promise<string | "honeypot" | null> {
  const t = readTrackingToken(token, "click");
  if (!t || t.kind !== "click") return null;
  const url = t.index === HONEYPOT ? "honeypot" : await linkOf(t.messageId, t.index);
  if (url === null) return null;
  captureHit({ type: "click", messageId: t.messageId, linkIndex: t.index, method: ctx.method, ip: ctx.ip, ua: ctx.userAgent, at: Date.now() });
  return url;
}
