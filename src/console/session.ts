// Console sign-in, sessions and CSRF. The session cookie is HttpOnly, SameSite=Strict, Path=/console
// and Secure outside development; every state-changing request carries the session's CSRF token
// (form field `_csrf`, or the X-CSRF-Token header htmx sends from the page's meta tag).
import { randomBytes } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { z } from "zod";
import { csrfTokenFor, SESSION_HOURS, sessionPrincipal, giveBackSignInSlot, signIn, signOut, takeSignInSlot } from "../modules/console-sessions/sessions.service.ts";
import { config } from "../platform/config.ts";
import { safeEqual } from "../platform/secrets.ts";
import { navFor } from "./access.ts";
import { renderPage } from "./views.ts";

const SESSION = "rapport_console";
const PRE = "rapport_console_signin";
const secure = config.isProduction || config.publicUrl.startsWith("https:");

export function cookies(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.get("cookie") ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

const cookie = (name: string, value: string, maxAgeSeconds: number) =>
  `${name}=${value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? "; Secure" : ""}`;

/** Where to go after signing in: only a console path of ours (no open redirect). */
const safeNext = (v: unknown) => (typeof v === "string" && /^\/console(\/[\w\-./?=&%]*)?$/.test(v) && !v.includes("//") ? v : "/console");

/** The sign-in form carries a token bound to a short-lived cookie (double submit): no login CSRF. */
export function showSignIn(req: Request, res: Response, opts: { error?: string; status?: number } = {}) {
  const pre = randomBytes(24).toString("base64url");
  res.append("Set-Cookie", cookie(PRE, pre, 600));
  renderPage(res, "sign-in", { title: "Sign in", signInToken: pre, next: safeNext(req.query.next ?? req.body?.next), error: opts.error }, opts.status);
}

const signInForm = z.object({ key: z.string().trim().min(1).max(200), _csrf: z.string().min(1).max(100), next: z.string().max(500).optional() });

export async function postSignIn(req: Request, res: Response) {
  const form = signInForm.safeParse(req.body ?? {});
  const pre = cookies(req)[PRE];
  if (!form.success || !pre || !safeEqual(pre, form.data._csrf)) {
    return showSignIn(req, res, { error: form.success ? "The form expired; please try again." : "Paste an API key.", status: form.success ? 403 : 400 });
  }
  const ip = req.ip ?? "unknown";
  if (!(await takeSignInSlot(ip))) {
    return showSignIn(req, res, { error: "Too many sign-in attempts; wait a minute and try again.", status: 429 });
  }
  const session = await signIn(form.data.key);
  if (!session) return showSignIn(req, res, { error: "That API key is unknown or revoked.", status: 401 });
  await giveBackSignInSlot(ip);
  res.append("Set-Cookie", cookie(SESSION, session.token, SESSION_HOURS * 3600));
  res.append("Set-Cookie", cookie(PRE, "", 0));
  res.redirect(303, safeNext(form.data.next));
}

export async function postSignOut(req: Request, res: Response) {
  await signOut(cookies(req)[SESSION] ?? "");
  res.append("Set-Cookie", cookie(SESSION, "", 0));
  res.redirect(303, "/console/sign-in");
}

/** Every console page after sign-in: a live session, else to the sign-in page. */
export async function requireSession(req: Request, res: Response, next: NextFunction) {
  const token = cookies(req)[SESSION] ?? "";
  const principal = token ? await sessionPrincipal(token) : null;
  if (!principal) {
    const to = `/console/sign-in?next=${encodeURIComponent(req.method === "GET" ? req.originalUrl : "/console")}`;
    if (req.get("hx-request")) return void res.status(401).set("HX-Redirect", to).end();
    return void res.redirect(303, to);
  }
  req.principal = principal;
  res.locals.console = { principal, role: principal.role, csrf: csrfTokenFor(token), nav: navFor(principal.role) };
  next();
}

/** Refuses (403) a state-changing request without the session's CSRF token. */
export function requireCsrf(req: Request, res: Response, next: NextFunction) {
  if (req.method === "GET" || req.method === "HEAD") return next();
  const sent = (req.get("x-csrf-token") ?? (typeof req.body?._csrf === "string" ? req.body._csrf : "")) as string;
  if (sent && safeEqual(sent, res.locals.console.csrf)) return next();
  renderPage(res, "error", { title: "Forbidden", message: "This form is missing its security token (CSRF). Reload the page and try again." }, 403);
}
