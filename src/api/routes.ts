// The whole route table. Each /v1 route names the roles it admits (admin is always admitted).
import { Router } from "express";
import type { Role } from "../modules/api-keys/api-keys.service.ts";
import { config } from "../platform/config.ts";
import { allow, loopbackOnly, metricsGuard } from "./auth.ts";
import { formBody, jsonBody, mimeBody, oneClickBody } from "./body.ts";
import * as apiKeys from "./handlers/api-keys.ts";
import * as campaigns from "./handlers/campaigns.ts";
import * as confirm from "./handlers/confirm.ts";
import * as preferences from "./handlers/preferences.ts";
import * as consents from "./handlers/consents.ts";
import * as customers from "./handlers/customers.ts";
import * as feedback from "./handlers/feedback.ts";
import * as devOutbox from "./handlers/dev-outbox.ts";
import * as docs from "./handlers/docs.ts";
import * as health from "./handlers/health.ts";
import * as metrics from "./handlers/metrics.ts";
import * as imports from "./handlers/imports.ts";
import * as inbound from "./handlers/inbound.ts";
import * as messages from "./handlers/messages.ts";
import * as personas from "./handlers/personas.ts";
import * as templates from "./handlers/templates.ts";
import * as topics from "./handlers/topics.ts";
import * as tracking from "./handlers/tracking.ts";
import * as unsubscribe from "./handlers/unsubscribe.ts";
import * as webhooks from "./handlers/webhooks.ts";

const M = "marketer" as const;
const D = "developer" as const;

export interface RouteOptions {
  /** Serve /dev/outbox. Default: only when SMTP_URL is unset (mail is captured) outside production. */
  devOutbox?: boolean;
}

export function routes(opts: RouteOptions = {}): Router {
  const r = Router();
  // Request bodies: read only by the routes below that name a parser, after the API key and role
  // were checked, each with its limit. Every other route (and an unknown path) never reads a body.
  const json = jsonBody(); // API_BODY_LIMIT
  const form = formBody(); // public pages: small urlencoded forms
  const oneClick = oneClickBody();

  // Messages (the send API) first: Express tries routes in order, and this is the busiest one.
  r.post("/v1/messages", allow(D), json, messages.send);
  r.get("/v1/messages", allow(M, D), messages.list);
  r.get("/v1/messages/:id", allow(M, D), messages.get);
  r.get("/v1/messages/:id/replies", allow(M, D), inbound.replies);

  // Operations
  r.get("/healthz", health.healthz);
  r.get("/readyz", health.readyz);
  r.get("/metrics", metricsGuard, metrics.metrics);
  r.get("/openapi.json", docs.openapi(r));
  r.get("/docs", docs.docsPage);
  r.get("/docs/init.js", docs.docsInit);
  r.use("/docs/assets", docs.docsAssets);

  // API keys (admin)
  r.post("/v1/api-keys", allow(), json, apiKeys.create);
  r.get("/v1/api-keys", allow(), apiKeys.list);
  r.delete("/v1/api-keys/:id", allow(), apiKeys.revoke);

  // Topics
  r.post("/v1/topics", allow(M), json, topics.create);
  r.get("/v1/topics", allow(M, D), topics.list);
  r.get("/v1/topics/:key", allow(M, D), topics.get);
  r.patch("/v1/topics/:key", allow(M), json, topics.update);

  // Imports (before /v1/customers/:id so that "import" is never taken for an id)
  // Streamed to storage by the handler (BODY_LIMIT), never parsed in the request.
  r.post("/v1/customers/import", allow(D), imports.create);
  r.get("/v1/imports/:id", allow(D), imports.get);

  // Customers and their consent
  r.post("/v1/customers", allow(D), json, customers.create);
  r.get("/v1/customers", allow(M, D), customers.list);
  r.get("/v1/customers/:id", allow(M, D), customers.get);
  r.patch("/v1/customers/:id", allow(D), json, customers.update);
  r.delete("/v1/customers/:id", allow(D), customers.erase);
  r.get("/v1/customers/:id/timeline", allow(M, D), customers.timeline);
  r.get("/v1/customers/:id/consents", allow(M, D), consents.list);
  r.put("/v1/customers/:id/consents/:topicKey", allow(D), json, consents.put);
  r.get("/v1/customers/:id/consent-events", allow(M, D), consents.ledger);
  r.get("/v1/customers/:id/consent-events/verify", allow(M, D), consents.verify);
  r.get("/v1/customers/:id/cadence", allow(M, D), consents.getCadenceState);
  r.put("/v1/customers/:id/cadence", allow(D), json, consents.putCadence);

  // Personas (marketers; membership lists customers, which marketers may read)
  r.post("/v1/personas", allow(M), json, personas.create);
  r.get("/v1/personas", allow(M), personas.list);
  r.get("/v1/personas/:key", allow(M), personas.get);
  r.patch("/v1/personas/:key", allow(M), json, personas.update);
  r.delete("/v1/personas/:key", allow(M), personas.remove);
  r.get("/v1/personas/:key/customers", allow(M), personas.customers);

  // Templates (marketers write; developers read and preview)
  r.post("/v1/templates", allow(M), json, templates.create);
  r.get("/v1/templates", allow(M, D), templates.list);
  r.get("/v1/templates/:key", allow(M, D), templates.get);
  r.post("/v1/templates/:key/versions", allow(M), json, templates.createVersion);
  r.get("/v1/templates/:key/versions", allow(M, D), templates.listVersions);
  r.get("/v1/templates/:key/versions/:n", allow(M, D), templates.getVersion);
  r.post("/v1/templates/:key/preview", allow(M, D), json, templates.preview);

  // Inbound: bounces, complaints and replies (developers wire their MTA or ESP to these)
  r.post("/v1/inbound/bounces", allow(D), json, inbound.bounce);
  r.post("/v1/inbound/mime", allow(D), mimeBody(), inbound.mime);

  // Feedback from the unsubscribe page and the preference center (marketers)
  r.get("/v1/feedback", allow(M), feedback.list);

  // Outbound webhooks (admin)
  r.post("/v1/webhooks", allow(), json, webhooks.create);
  r.get("/v1/webhooks", allow(), webhooks.list);
  r.get("/v1/webhooks/:id", allow(), webhooks.get);
  r.patch("/v1/webhooks/:id", allow(), json, webhooks.update);
  r.delete("/v1/webhooks/:id", allow(), webhooks.remove);
  r.post("/v1/webhooks/:id/rotate-secret", allow(), webhooks.rotate);
  r.post("/v1/webhooks/:id/test", allow(), webhooks.test);
  r.get("/v1/webhooks/:id/deliveries", allow(), webhooks.deliveries);
  r.post("/v1/webhooks/:id/deliveries/:deliveryId/replay", allow(), webhooks.replay);

  // Public: open pixel and click redirect (signed tokens; GET routes also answer HEAD)
  r.get("/t/o/:token", tracking.open);
  r.get("/t/c/:token", tracking.click);

  // Campaigns (marketers)
  r.post("/v1/campaigns", allow(M), json, campaigns.create);
  r.get("/v1/campaigns", allow(M), campaigns.list);
  r.get("/v1/campaigns/:id", allow(M), campaigns.get);
  r.patch("/v1/campaigns/:id", allow(M), json, campaigns.update);
  r.get("/v1/campaigns/:id/audience", allow(M), campaigns.audience);
  r.get("/v1/campaigns/:id/stats", allow(M), campaigns.stats);
  r.post("/v1/campaigns/:id/schedule", allow(M), campaigns.action("schedule"));
  r.post("/v1/campaigns/:id/pause", allow(M), campaigns.action("pause"));
  r.post("/v1/campaigns/:id/resume", allow(M), campaigns.action("resume"));
  r.post("/v1/campaigns/:id/cancel", allow(M), campaigns.action("cancel"));

  // Public: one-click unsubscribe (RFC 8058; signed token, no cookies or API key)
  r.get("/u/:token", unsubscribe.show);
  r.post("/u/:token", oneClick, unsubscribe.confirm);

  // Public: double opt-in confirmation (signed, single-use, expiring token)
  r.get("/confirm/:token", confirm.show);
  r.post("/confirm/:token", form, confirm.confirm);

  // Public: preference center (signed token)
  r.get("/preferences/:token", preferences.show);
  r.post("/preferences/:token", form, preferences.save);

  // Development outbox (no API key: it only exists on a development machine without real SMTP)
  if (opts.devOutbox ?? (!config.SMTP_URL && !config.isProduction)) {
    r.get("/dev/outbox", loopbackOnly, devOutbox.list);
    r.delete("/dev/outbox", loopbackOnly, devOutbox.clear);
    r.get("/dev/outbox/:id", loopbackOnly, devOutbox.show);
    r.get("/dev/outbox/:id/raw", loopbackOnly, devOutbox.raw);
  }

  return r;
}

let roleTable: Map<string, Role[]> | null = null;
/**
 * The roles an API route admits, read from the table above ("GET /v1/personas"): the console shows
 * a page only to the roles that may call the route it mirrors, so there is one rule, not two.
 */
export function rolesFor(route: string): Role[] {
  if (!roleTable) {
    roleTable = new Map();
    for (const layer of routes({ devOutbox: false }).stack as Array<{ route?: { path: string; methods: Record<string, boolean>; stack: Array<{ handle: { roles?: Role[] } }> } }>) {
      const guard = layer.route?.stack.find((l) => Array.isArray(l.handle.roles));
      if (!layer.route || !guard) continue;
      for (const m of Object.keys(layer.route.methods)) roleTable.set(`${m.toUpperCase()} ${layer.route.path}`, guard.handle.roles!);
    }
  }
  const roles = roleTable.get(route);
  if (!roles) throw new Error(`No API route '${route}' to take roles from`);
  return roles;
}
