// Public tracking endpoints (no API key; signed tokens). Never cached, never a referrer.
import type { Request, Response } from "express";
import { recordOpen, resolveClick, type HitContext } from "../../modules/engagement/engagement.service.ts";
import { notFound } from "../../platform/errors.ts";

const GIF = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");

const ctx = (req: Request): HitContext => ({ method: req.method, ip: req.ip ?? null, userAgent: req.get("user-agent") ?? null });
const token = (req: Request) => String(req.params.token ?? "");

/** GET/HEAD /t/o/{token}: always the 1x1 GIF, whatever the token. */
export function open(req: Request, res: Response) {
  recordOpen(token(req), ctx(req));
  res.set({ "content-type": "image/gif", "cache-control": "no-store, no-cache, must-revalidate, private", "content-length": String(GIF.length) });
  res.status(200).end(req.method === "HEAD" ? undefined : GIF);
}

/** GET /t/c/{token}: 302 to the message's original URL; tampered or unknown: 404, no redirect. */
export async function click(req: Request, res: Response) {
  const url = await resolveClick(token(req), ctx(req));
  if (url === null) throw notFound("Link", "");
  res.set({ "cache-control": "no-store", "referrer-policy": "no-referrer" });
  if (url === "honeypot") {
    res.status(200).type("html").end("<!doctype html><title>Rapport</title>");
    return;
  }
  res.redirect(302, url);
}
