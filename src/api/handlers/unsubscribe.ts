// Public one-click unsubscribe. POST (RFC 8058: body `List-Unsubscribe=One-Click`, urlencoded or
// multipart, no cookies, no auth, from any site) unsubscribes and answers 200 without a redirect;
// GET only shows a page whose button POSTs (with a CSRF token), so link scanners that follow URLs
// never unsubscribe anyone. Invalid tokens: 404 (an HTML page for browsers, else problem+json).
import type { Request, Response } from "express";
import { inspectUnsubscribe, unsubscribe, type UnsubscribeState } from "../../modules/messages/unsubscribe.service.ts";
import { feedbackFields, type FeedbackFields } from "../../modules/feedback/feedback.schema.ts";
import { AppError } from "../../platform/errors.ts";
import { checkCsrf, csrfField } from "../csrf.ts";
import { esc, sendPage } from "../pages.ts";
import { feedbackFieldset } from "./feedback-fields.ts";

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
<form method="post" action="/u/${esc(encodeURIComponent(token))}"><input type="hidden" name="confirm" value="page">${csrfField(token)}
${feedbackFieldset("Why are you unsubscribing?")}
<p><button type="submit" id="unsubscribe">Unsubscribe</button></p></form>`);
}

// A multipart one-click body (kept as text by oneClickBody): the List-Unsubscribe part says One-Click.
const MULTIPART_ONE_CLICK = /name="?List-Unsubscribe"?[^]*?\r\n\r\nOne-Click\r\n/;

function isOneClick(req: Request): boolean {
  if (typeof req.body === "string") return MULTIPART_ONE_CLICK.test(req.body);
  return (req.body as Record<string, unknown> | undefined)?.["List-Unsubscribe"] === "One-Click";
}

export async function confirm(req: Request, res: Response) {
  const token = String(req.params.token);
  const oneClick = isOneClick(req);
  let feedback: FeedbackFields | undefined;
  if (!oneClick) {
    if ((req.body as Record<string, unknown> | undefined)?.confirm !== "page") {
      throw new AppError("validation", "Send List-Unsubscribe=One-Click (RFC 8058), or use the button of the unsubscribe page");
    }
    await inspectUnsubscribe(token); // an invalid link is 404 before anything else
    checkCsrf(req, token);
    const f = feedbackFields.safeParse(req.body);
    if (!f.success) throw new AppError("validation", "The form could not be read. Please try again.");
    feedback = f.data;
  }
  const s = await unsubscribe(token, { oneClick, ip: req.ip, userAgent: req.get("user-agent")?.slice(0, 1000), feedback });
  done(res, s);
}
