// The marketer console's whole route table: server-rendered pages over the same use cases as the API.
// Pages read without JavaScript; htmx only swaps fragments (rule counts, compile checks). Every route
// after sign-in needs a live session, every state change its CSRF token, every area the roles of
// the API route it mirrors (access.ts).
import express, { Router, type ErrorRequestHandler, type Request, type Response, type NextFunction } from "express";
import { AppError } from "../platform/errors.ts";
import { logger } from "../platform/logger.ts";
import { area } from "./access.ts";
import { asset } from "./assets.ts";
import * as admin from "./pages/admin.ts";
import * as campaigns from "./pages/campaigns.ts";
import * as feedback from "./pages/feedback.ts";
import * as webhooks from "./pages/webhooks.ts";
import * as customers from "./pages/customers.ts";
import { dashboard } from "./pages/dashboard.ts";
import * as personas from "./pages/personas.ts";
import * as templates from "./pages/templates.ts";
import { postSignIn, postSignOut, requireCsrf, requireSession, showSignIn } from "./session.ts";
import { renderPage } from "./views.ts";

export function consoleRoutes(): Router {
  const r = Router();

  // A browser opening the engine lands on the console; JSON clients still get the 404 problem.
  r.get("/", (req, res, next) => (req.accepts(["json", "html"]) === "html" ? res.redirect(302, "/console") : next()));

  const c = Router();
  r.use("/console", express.urlencoded({ extended: false, limit: "2mb", parameterLimit: 2000 }), c);

  c.get("/assets/:file", asset);
  c.get("/sign-in", (req, res) => showSignIn(req, res));
  c.post("/sign-in", postSignIn);

  c.use(requireSession, requireCsrf);
  c.post("/sign-out", postSignOut);
  c.get("/", area("dashboard"), dashboard);

  c.get("/personas", area("personas"), personas.list);
  c.get("/personas/new", area("personasWrite"), personas.newForm);
  c.post("/personas", area("personasWrite"), personas.save);
  c.post("/personas/count", area("personas"), personas.count);
  c.get("/personas/:key", area("personas"), personas.editForm);
  c.post("/personas/:key", area("personasWrite"), personas.save);
  c.post("/personas/:key/move", area("personasWrite"), personas.move);

  c.get("/templates", area("templates"), templates.index);
  c.post("/templates", area("templatesWrite"), templates.create);
  c.get("/templates/:key", area("templates"), (req, res) => templates.editor(req, res));
  c.post("/templates/:key", area("templatesWrite"), templates.saveVersion);
  c.post("/templates/:key/check", area("templates"), templates.check);
  c.get("/templates/:key/history", area("templates"), templates.history);

  c.get("/campaigns", area("campaigns"), campaigns.index);
  c.get("/campaigns/new", area("campaignsWrite"), campaigns.wizard);
  c.post("/campaigns", area("campaignsWrite"), campaigns.create);
  c.get("/campaigns/:id", area("campaigns"), (req, res) => campaigns.show(req, res));
  c.get("/campaigns/:id/progress", area("campaigns"), campaigns.progress);
  for (const a of ["schedule", "pause", "resume", "cancel"] as const) c.post(`/campaigns/:id/${a}`, area("campaignActions"), campaigns.action(a));

  c.get("/feedback", area("feedback"), feedback.index);

  c.get("/webhooks", area("webhooks"), webhooks.index);
  c.get("/webhooks/:id", area("webhooks"), (req, res) => webhooks.show(req, res));
  c.post("/webhooks/:id/deliveries/:deliveryId/replay", area("webhooksWrite"), webhooks.replay);

  c.get("/customers", area("customers"), customers.search);
  c.get("/customers/:id", area("customers"), customers.profile);

  c.get("/topics", area("topics"), (req, res) => admin.topics(req, res));
  c.post("/topics", area("topicsWrite"), admin.postTopic);
  c.get("/suppressions", area("suppressions"), admin.suppressions);

  c.get("/api-keys", area("apiKeys"), (req, res) => admin.apiKeys(req, res));
  c.post("/api-keys", area("apiKeysWrite"), admin.postApiKey);
  c.post("/api-keys/:id/revoke", area("apiKeysWrite"), admin.postRevoke);

  c.use((req) => {
    throw new AppError("not_found", `No console page at ${req.path}`);
  });
  c.use(consoleErrors);
  return r;
}

/** Errors become HTML pages here (the API's problem+json stays for the API). */
const consoleErrors: ErrorRequestHandler = (err, req: Request, res: Response, _next: NextFunction) => {
  if (res.headersSent) return;
  const status = err instanceof AppError ? err.status : Number(err?.status) >= 400 && Number(err?.status) < 500 ? Number(err.status) : 500;
  if (status >= 500) logger.error({ err: { type: err?.name, message: String(err?.message ?? "").slice(0, 500) }, route: req.route?.path ?? "unmatched" }, "console error");
  const message = status >= 500 ? "Something went wrong; it has been logged." : err instanceof AppError ? err.message : "The request is malformed.";
  renderPage(res, "error", { title: status === 404 ? "Not found" : status >= 500 ? "Error" : "Cannot do that", message }, status);
};
