// CSRF defence of the public forms (preferences, confirmation, the unsubscribe page's button). The
// link token in the URL is no defence: a page elsewhere that knows a link can post to it. So:
//  - every form carries a signed, short-lived token bound to the link (stateless HMAC: no cookie and
//    no server state, so any process can check it), and
//  - a browser that says the post comes from another site (Sec-Fetch-Site, else Origin) is refused.
// RFC 8058's one-click POST (/u, body List-Unsubscribe=One-Click) is exempt by design: mail clients
// post it from anywhere, without cookies or a token (see handlers/unsubscribe.ts).
import type { Request } from "express";
import { config } from "../platform/config.ts";
import { AppError } from "../platform/errors.ts";
import { sha256, signToken, verifyToken, type TokenClaims } from "../platform/secrets.ts";

interface CsrfClaims extends TokenClaims { p: "x"; l: string; exp: number }

/** A form stays valid this long after the page was shown. */
export const CSRF_TTL_S = 2 * 3600;

const bind = (linkToken: string) => sha256(`csrf|${linkToken}`).slice(0, 24);

/** The hidden field of a form posting to the page of this link token. */
export function csrfField(linkToken: string, now = Date.now()): string {
  const token = signToken({ p: "x", l: bind(linkToken), exp: Math.floor(now / 1000) + CSRF_TTL_S });
  return `<input type="hidden" name="csrf" value="${token}">`;
}

const ourOrigins = (req: Request) => new Set([new URL(config.publicUrl).origin, `${req.protocol}://${req.get("host")}`]);

/** Refuses (403) a post another site made, or one without this link's form token. */
export function checkCsrf(req: Request, linkToken: string): void {
  const site = req.get("sec-fetch-site");
  const origin = req.get("origin");
  const crossSite = site !== undefined ? site !== "same-origin" && site !== "none" : origin !== undefined && !ourOrigins(req).has(origin);
  if (crossSite) throw new AppError("forbidden", "This form can only be sent from its own page");
  const form = (req.body ?? {}) as Record<string, unknown>;
  const claims = typeof form.csrf === "string" ? verifyToken<CsrfClaims>(form.csrf, "x") : null;
  if (!claims || claims.l !== bind(linkToken)) {
    throw new AppError("forbidden", "This form has expired or did not come from its page: open the link again and retry");
  }
}
