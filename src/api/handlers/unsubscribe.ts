// Public one-click unsubscribe. POST (RFC 8058: body `List-Unsubscribe=One-Click`, no cookies, no
// auth) unsubscribes and answers 200 without a redirect; GET only shows a page whose button POSTs,
// so link scanners that follow URLs never unsubscribe anyone. Invalid tokens: 404 problem.
import type { Request, Response } from "express";
import { inspectUnsubscribe, unsubscribe, type UnsubscribeState } from "../../modules/messages/unsubscribe.service.ts";
import { esc, sendPage } from "../pages.ts";

const done = (res: Response, s: UnsubscribeState) =>
  sendPage(res, 200, "You are unsubscribed",
    `<p id="done">You will no longer receive <strong>${esc(s.topicName)}</strong>.</p>` +
      (s.transactional ? "<p>Messages we must send about your account or orders may still reach you.</p>" : ""));

export async function show(req: Request, res: Response) {
  const token = String(req.params.token);
  const s = await inspectUnsubscribe(token);
  if (s.done) return done(res, s);
  sendPage(res, 200, "Unsubscribe",
    `<p>Stop receiving <strong>${esc(s.topicName)}</strong>?</p>
<form method="post" action="/u/${esc(encodeURIComponent(token))}"><input type="hidden" name="confirm" value="page"><button type="submit" id="unsubscribe">Unsubscribe</button></form>`);
}

export async function confirm(req: Request, res: Response) {
  const form = (req.body && typeof req.body === "object" ? req.body : {}) as Record<string, unknown>;
  const s = await unsubscribe(String(req.params.token), {
    // Mail clients send exactly this body (RFC 8058); the page's own form says confirm=page.
    oneClick: form["List-Unsubscribe"] === "One-Click" || form.confirm !== "page",
    ip: req.ip,
    userAgent: req.get("user-agent")?.slice(0, 1000),
  });
  done(res, s);
}
