// Public double opt-in page: GET only shows a button (link scanners must not confirm anyone), POST
// confirms, from that page only (CSRF token and same-site check: another site must not be able to
// opt someone in). Invalid, tampered, expired or used tokens get 404.
import type { Request, Response } from "express";
import { confirmConsent, inspectConfirmation } from "../../modules/consent/double-opt-in.service.ts";
import { AppError } from "../../platform/errors.ts";
import { checkCsrf, csrfField } from "../csrf.ts";
import { esc, sendPage } from "../pages.ts";

const invalid = () => new AppError("not_found", "This confirmation link is invalid, expired or was already used.");

export async function show(req: Request, res: Response) {
  const token = String(req.params.token);
  const r = await inspectConfirmation(token);
  if (r.state === "invalid") throw invalid();
  if (r.state === "already_confirmed") return sendPage(res, 200, "Already confirmed", `<p>Your subscription to <strong>${esc(r.topicName)}</strong> is confirmed.</p>`);
  sendPage(res, 200, "Confirm your subscription",
    `<p>You asked to receive: <strong>${esc(r.wording)}</strong></p>
<form method="post" action="/confirm/${esc(encodeURIComponent(token))}">${csrfField(token)}<button type="submit" id="confirm">Confirm my subscription</button></form>`);
}

export async function confirm(req: Request, res: Response) {
  const token = String(req.params.token);
  if ((await inspectConfirmation(token)).state === "invalid") throw invalid();
  checkCsrf(req, token);
  const r = await confirmConsent(token, { ip: req.ip, userAgent: req.get("user-agent")?.slice(0, 1000) });
  if (r.state === "invalid") throw invalid();
  sendPage(res, 200, "Subscription confirmed", `<p id="done">Thank you. Your subscription to <strong>${esc(r.topicName)}</strong> is confirmed.</p>`);
}
