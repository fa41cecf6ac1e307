// Per operation of the route table ("METHOD /path" as in routes.ts): its tag, summary and success
// responses. buildOpenApi refuses a route missing here, so a new route cannot go undocumented.
import type { ComponentName, Success } from "./openapi-responses.ts";

export interface Operation {
  tag: string;
  summary: string;
  description?: string;
  success: Success[];
}

export const tags = [
  { name: "Messages", description: "The send API: one message to one customer, sent only while they consent" },
  { name: "Customers", description: "Customers, their attributes and persona, their timeline; erasure" },
  { name: "Consent", description: "Consent per topic and channel, and its append-only, hash-chained ledger" },
  { name: "Imports", description: "Bulk customer imports (JSON or CSV), processed in the background" },
  { name: "Topics", description: "What customers subscribe to (marketing or transactional)" },
  { name: "Personas", description: "Buyer personas: stories, goals, concerns, and rules that assign customers" },
  { name: "Templates", description: "Versioned Handlebars templates with a variant per persona" },
  { name: "Campaigns", description: "Sends to an audience, at a time or at each customer's local time" },
  { name: "Webhooks", description: "Signed event notifications (Standard Webhooks)" },
  { name: "API keys", description: "Scoped keys: admin, marketer, developer" },
  { name: "Public links", description: "Pages and endpoints reached from emails: unsubscribe, confirm, preferences, tracking" },
  { name: "Operations", description: "Health, readiness, metrics and this description" },
  { name: "Development", description: "The development outbox (only without SMTP_URL, outside production)" },
];

const one = (json: ComponentName, description: string, status = 200): Success => ({ status, json, description });
const ok = (json: ComponentName, description = "The resource") => one(json, description);
const created = (json: ComponentName, description = "Created") => one(json, description, 201);
const page = (name: ComponentName, description = "A page, oldest first"): Success => ({ status: 200, page: name, description });
const none = (description = "Done; no content"): Success => ({ status: 204, description });
const html = (description: string): Success => ({ status: 200, media: "text/html", description });

export const operations: Record<string, Operation> = {
  "GET /healthz": { tag: "Operations", summary: "Liveness", success: [ok("Health", "The process is up")] },
  "GET /readyz": { tag: "Operations", summary: "Readiness: PostgreSQL and Redis answer", description: "503 with the same body names what is down.", success: [ok("Readiness", "Ready")] },
  "GET /metrics": { tag: "Operations", summary: "Prometheus metrics (loopback or METRICS_TOKEN)", success: [{ status: 200, media: "text/plain", description: "Prometheus text format" }] },
  "GET /openapi.json": { tag: "Operations", summary: "This API description (OpenAPI 3.1)", success: [{ status: 200, media: "application/json", description: "OpenAPI document" }] },
  "GET /docs": { tag: "Operations", summary: "API reference (Swagger UI)", success: [html("HTML page")] },
  "GET /docs/init.js": { tag: "Operations", summary: "API reference start-up script", success: [{ status: 200, media: "application/javascript", description: "Script" }] },

  "POST /v1/api-keys": { tag: "API keys", summary: "Create an API key (the secret is shown once)", success: [created("CreatedApiKey")] },
  "GET /v1/api-keys": { tag: "API keys", summary: "List API keys (never their secrets)", success: [page("ApiKey")] },
  "DELETE /v1/api-keys/{id}": { tag: "API keys", summary: "Revoke an API key", success: [none("Revoked")] },

  "POST /v1/topics": { tag: "Topics", summary: "Create a topic", success: [created("Topic")] },
  "GET /v1/topics": { tag: "Topics", summary: "List topics", success: [page("Topic")] },
  "GET /v1/topics/{key}": { tag: "Topics", summary: "Get a topic", success: [ok("Topic")] },
  "PATCH /v1/topics/{key}": { tag: "Topics", summary: "Update a topic", success: [ok("Topic", "The topic after the change")] },

  "POST /v1/customers/import": {
    tag: "Imports", summary: "Import customers (JSON or CSV)",
    description: "JSON `{customers: [...]}` or text/csv with a header row; rows are checked by the job (GET /v1/imports/{id}). An imported opt-in needs a source and a proof.",
    success: [{ status: 202, json: "ImportAccepted", description: "Accepted; poll the Location" }],
  },
  "GET /v1/imports/{id}": { tag: "Imports", summary: "Import progress and row errors", success: [ok("Import")] },

  "POST /v1/customers": { tag: "Customers", summary: "Create a customer", success: [created("Customer")] },
  "GET /v1/customers": { tag: "Customers", summary: "List or find customers (by email, externalId or persona)", success: [page("Customer")] },
  "GET /v1/customers/{id}": { tag: "Customers", summary: "Get a customer", success: [ok("Customer")] },
  "PATCH /v1/customers/{id}": { tag: "Customers", summary: "Update a customer", success: [ok("Customer", "The customer after the change")] },
  "DELETE /v1/customers/{id}": { tag: "Customers", summary: "Erase a customer (GDPR art. 17)", description: "Personal data is crypto-shredded; the ledger keeps its chain.", success: [none("Erased")] },
  "GET /v1/customers/{id}/timeline": { tag: "Customers", summary: "The customer's timeline, newest first", success: [page("TimelineEntry", "A page, newest first")] },
  "GET /v1/customers/{id}/consents": { tag: "Consent", summary: "The customer's consent per topic", success: [page("Consent")] },
  "PUT /v1/customers/{id}/consents/{topicKey}": { tag: "Consent", summary: "Give or withdraw consent to a topic", description: "A double opt-in topic answers `pending` and sends a confirmation email.", success: [ok("Consent", "The consent after the change")] },
  "GET /v1/customers/{id}/consent-events": { tag: "Consent", summary: "The customer's consent ledger", success: [page("ConsentEvent")] },
  "GET /v1/customers/{id}/cadence": { tag: "Consent", summary: "The customer's cadence and marketing pause", success: [ok("Cadence")] },
  "PUT /v1/customers/{id}/cadence": { tag: "Consent", summary: "Set the customer's cadence or pause all marketing until a date", description: "Recorded in the consent ledger like a consent change.", success: [ok("Cadence", "The cadence after the change")] },
  "GET /v1/feedback": { tag: "Customers", summary: "Why customers unsubscribed or paused, newest first", success: [page("Feedback", "A page, newest first")] },
  "GET /v1/customers/{id}/consent-events/verify": { tag: "Consent", summary: "Verify the ledger's hash chain", success: [ok("LedgerVerdict", "Whether every row matches its hash and its predecessor")] },

  "POST /v1/personas": { tag: "Personas", summary: "Create a persona", success: [created("Persona")] },
  "GET /v1/personas": { tag: "Personas", summary: "List personas", success: [page("Persona")] },
  "GET /v1/personas/{key}": { tag: "Personas", summary: "Get a persona", success: [ok("Persona")] },
  "PATCH /v1/personas/{key}": { tag: "Personas", summary: "Update a persona (rules re-assign customers)", success: [ok("Persona", "The persona after the change")] },
  "DELETE /v1/personas/{key}": { tag: "Personas", summary: "Delete a persona", success: [none("Deleted")] },
  "GET /v1/personas/{key}/customers": { tag: "Personas", summary: "The persona's current members", success: [page("Customer")] },

  "POST /v1/templates": { tag: "Templates", summary: "Create a template (version 1)", success: [created("TemplateVersion", "Created, with lint warnings")] },
  "GET /v1/templates": { tag: "Templates", summary: "List templates", success: [page("TemplateSummary")] },
  "GET /v1/templates/{key}": { tag: "Templates", summary: "The template's latest version", success: [ok("TemplateVersion")] },
  "POST /v1/templates/{key}/versions": { tag: "Templates", summary: "Save a new version", success: [created("TemplateVersion", "Created, with lint warnings")] },
  "GET /v1/templates/{key}/versions": { tag: "Templates", summary: "List versions", success: [page("TemplateVersion")] },
  "GET /v1/templates/{key}/versions/{n}": { tag: "Templates", summary: "Get one version", success: [ok("TemplateVersion")] },
  "POST /v1/templates/{key}/preview": { tag: "Templates", summary: "Render a preview for a customer, sample data or a persona", success: [ok("Preview", "The rendered email")] },

  "POST /v1/messages": {
    tag: "Messages", summary: "Send a message",
    description: "Accepted and queued; consent is checked again at the moment of sending. An Idempotency-Key header makes a retry return the first message.",
    success: [{ status: 202, json: "Message", description: "Accepted (Idempotent-Replayed: true on a replay)" }],
  },
  "GET /v1/messages": { tag: "Messages", summary: "List messages", success: [page("Message")] },
  "GET /v1/messages/{id}": { tag: "Messages", summary: "A message, its engagement and events", success: [ok("MessageDetail")] },

  "GET /v1/messages/{id}/replies": { tag: "Messages", summary: "Replies and auto-replies to a message", success: [page("Reply", "Replies, oldest first")] },
  "POST /v1/inbound/bounces": { tag: "Messages", summary: "Report a bounce or complaint (JSON)", description: "From an ESP or MTA that reports by other means than mail; a hard bounce or complaint suppresses the address.", success: [ok("InboundResult", "What was applied")] },
  "POST /v1/inbound/mime": { tag: "Messages", summary: "Report a raw message: DSN, ARF report, auto-reply or reply", success: [ok("InboundResult", "What was applied")] },

  "POST /v1/webhooks": { tag: "Webhooks", summary: "Register an endpoint (the secret is shown once)", success: [created("WebhookWithSecret")] },
  "GET /v1/webhooks": { tag: "Webhooks", summary: "List endpoints", success: [page("Webhook")] },
  "GET /v1/webhooks/{id}": { tag: "Webhooks", summary: "Get an endpoint", success: [ok("Webhook")] },
  "PATCH /v1/webhooks/{id}": { tag: "Webhooks", summary: "Update or re-enable an endpoint", success: [ok("Webhook", "The endpoint after the change")] },
  "DELETE /v1/webhooks/{id}": { tag: "Webhooks", summary: "Delete an endpoint", success: [none("Deleted")] },
  "POST /v1/webhooks/{id}/rotate-secret": { tag: "Webhooks", summary: "Rotate the signing secret (the old one stays valid 24 h)", success: [ok("WebhookWithSecret", "The new secret, shown once")] },
  "POST /v1/webhooks/{id}/test": { tag: "Webhooks", summary: "Send a webhook.test event", success: [{ status: 202, json: "WebhookDelivery", description: "Queued" }] },
  "GET /v1/webhooks/{id}/deliveries": { tag: "Webhooks", summary: "Deliveries and their attempts", success: [page("WebhookDelivery", "A page, newest first")] },
  "POST /v1/webhooks/{id}/deliveries/{deliveryId}/replay": { tag: "Webhooks", summary: "Deliver again", success: [{ status: 202, json: "WebhookDelivery", description: "Queued" }] },

  "POST /v1/campaigns": { tag: "Campaigns", summary: "Create a campaign (draft)", success: [created("Campaign")] },
  "GET /v1/campaigns": { tag: "Campaigns", summary: "List campaigns", success: [page("Campaign")] },
  "GET /v1/campaigns/{id}": { tag: "Campaigns", summary: "Get a campaign and its counts", success: [ok("Campaign")] },
  "PATCH /v1/campaigns/{id}": { tag: "Campaigns", summary: "Update a draft or scheduled campaign", success: [ok("Campaign", "The campaign after the change")] },
  "GET /v1/campaigns/{id}/audience": { tag: "Campaigns", summary: "Who the audience holds now, by persona", success: [ok("CampaignAudience")] },
  "GET /v1/campaigns/{id}/stats": { tag: "Campaigns", summary: "Delivery and engagement by persona", success: [ok("CampaignStats")] },
  "POST /v1/campaigns/{id}/schedule": { tag: "Campaigns", summary: "Schedule (or start now)", success: [ok("Campaign", "The campaign after the change")] },
  "POST /v1/campaigns/{id}/pause": { tag: "Campaigns", summary: "Pause: nothing more is handed to SMTP", success: [ok("Campaign", "The campaign after the change")] },
  "POST /v1/campaigns/{id}/resume": { tag: "Campaigns", summary: "Resume a paused campaign", success: [ok("Campaign", "The campaign after the change")] },
  "POST /v1/campaigns/{id}/cancel": { tag: "Campaigns", summary: "Cancel: what is not sent is never sent", success: [ok("Campaign", "The campaign after the change")] },

  "GET /t/o/{token}": { tag: "Public links", summary: "Open pixel", success: [{ status: 200, media: "image/gif", description: "A 1x1 GIF, whatever the token" }] },
  "GET /t/c/{token}": { tag: "Public links", summary: "Click redirect", success: [{ status: 302, description: "To the link's original URL", headers: { Location: "The original URL" } }] },
  "GET /u/{token}": { tag: "Public links", summary: "Unsubscribe page (its button posts)", success: [html("HTML page")] },
  "POST /u/{token}": { tag: "Public links", summary: "One-click unsubscribe (RFC 8058)", description: "Body `List-Unsubscribe=One-Click` (urlencoded or multipart), no cookies, no API key.", success: [html("Unsubscribed")] },
  "GET /confirm/{token}": { tag: "Public links", summary: "Double opt-in page (its button posts)", success: [html("HTML page")] },
  "POST /confirm/{token}": { tag: "Public links", summary: "Confirm a subscription", success: [html("Confirmed")] },
  "GET /preferences/{token}": { tag: "Public links", summary: "Preference center", success: [html("HTML page")] },
  "POST /preferences/{token}": { tag: "Public links", summary: "Save preferences", success: [{ status: 303, description: "Back to the page", headers: { Location: "The preference page" } }] },

  "GET /dev/outbox": { tag: "Development", summary: "Captured emails, newest first (HTML, or JSON with Accept: application/json)", success: [page("OutboxItem", "A page, newest first")] },
  "DELETE /dev/outbox": { tag: "Development", summary: "Clear the outbox", success: [none("Cleared")] },
  "GET /dev/outbox/{id}": { tag: "Development", summary: "One captured email", success: [ok("OutboxMessage")] },
  "GET /dev/outbox/{id}/raw": { tag: "Development", summary: "The raw MIME", success: [{ status: 200, media: "text/plain", description: "RFC 5322 message" }] },
};
