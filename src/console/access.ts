// Who may see which console page: each page names the API route it mirrors, and the roles come
// from the API's own route table (rolesFor), so the console never holds a second copy of the rule.
import type { NextFunction, Request, Response } from "express";
import type { Role } from "../modules/api-keys/api-keys.service.ts";
import { rolesFor } from "../api/routes.ts";
import { renderPage } from "./views.ts";

/** Console area -> the API route whose roles it takes. */
export const AREAS = {
  dashboard: "GET /v1/messages",
  personas: "GET /v1/personas",
  personasWrite: "POST /v1/personas",
  templates: "GET /v1/templates",
  templatesWrite: "POST /v1/templates",
  customers: "GET /v1/customers",
  topics: "GET /v1/topics",
  topicsWrite: "POST /v1/topics",
  // No API route lists suppressions; a lookup by address says as much as a customer search by email.
  suppressions: "GET /v1/customers",
  campaigns: "GET /v1/campaigns",
  campaignsWrite: "POST /v1/campaigns",
  campaignActions: "POST /v1/campaigns/:id/pause",
  feedback: "GET /v1/feedback",
  webhooks: "GET /v1/webhooks",
  webhooksWrite: "POST /v1/webhooks/:id/deliveries/:deliveryId/replay",
  apiKeys: "GET /v1/api-keys",
  apiKeysWrite: "POST /v1/api-keys",
} as const;
export type Area = keyof typeof AREAS;

export const may = (role: Role, area: Area) => role === "admin" || rolesFor(AREAS[area]).includes(role);

export function navFor(role: Role) {
  return Object.fromEntries(Object.keys(AREAS).map((a) => [a, may(role, a as Area)])) as Record<Area, boolean>;
}

/** Route guard: the session's role may use this area, else a 403 page. */
export const area = (a: Area) => (req: Request, res: Response, next: NextFunction) => {
  if (req.principal && may(req.principal.role, a)) return next();
  renderPage(res, "error", { title: "Forbidden", message: `Your API key's role (${req.principal?.role}) may not use this page.` }, 403);
};
