// GET /openapi.json: paths and roles come from the live route table, request bodies and queries from
// the same zod schemas that validate them (z.toJSONSchema), so the document cannot drift from the code.
import type { Router } from "express";
import { z } from "zod";
import { createApiKeySchema } from "../modules/api-keys/api-keys.schema.ts";
import { createCampaignSchema, listCampaignsSchema, updateCampaignSchema } from "../modules/campaigns/campaigns.schema.ts";
import { putCadenceSchema, putConsentSchema } from "../modules/consent/consent.schema.ts";
import { createCustomerSchema, listCustomersQuery, updateCustomerSchema } from "../modules/customers/customers.schema.ts";
import { listFeedbackQuery } from "../modules/feedback/feedback.schema.ts";
import { jsonImportSchema } from "../modules/imports/imports.schema.ts";
import { bounceReportSchema } from "../modules/inbound/inbound.schema.ts";
import { listMessagesSchema, sendMessageSchema } from "../modules/messages/messages.schema.ts";
import { createPersonaSchema, updatePersonaSchema } from "../modules/personas/personas.schema.ts";
import { createTemplateSchema, createVersionSchema, previewSchema } from "../modules/templates/templates.schema.ts";
import { createTopicSchema, updateTopicSchema } from "../modules/topics/topics.schema.ts";
import { createWebhookSchema, updateWebhookSchema } from "../modules/webhooks/webhooks.schema.ts";
import { listQuery } from "./validate.ts";

/** Request body schema per "METHOD path" (paths as in routes.ts). */
export const bodies: Record<string, z.ZodType> = {
  "POST /v1/api-keys": createApiKeySchema,
  "POST /v1/topics": createTopicSchema,
  "PATCH /v1/topics/:key": updateTopicSchema,
  "POST /v1/customers": createCustomerSchema,
  "PATCH /v1/customers/:id": updateCustomerSchema,
  "POST /v1/customers/import": jsonImportSchema,
  "PUT /v1/customers/:id/consents/:topicKey": putConsentSchema,
  "PUT /v1/customers/:id/cadence": putCadenceSchema,
  "POST /v1/personas": createPersonaSchema,
  "PATCH /v1/personas/:key": updatePersonaSchema,
  "POST /v1/templates": createTemplateSchema,
  "POST /v1/templates/:key/versions": createVersionSchema,
  "POST /v1/templates/:key/preview": previewSchema,
  "POST /v1/messages": sendMessageSchema,
  "POST /v1/inbound/bounces": bounceReportSchema,
  "POST /v1/webhooks": createWebhookSchema,
  "PATCH /v1/webhooks/:id": updateWebhookSchema,
  "POST /v1/campaigns": createCampaignSchema,
  "PATCH /v1/campaigns/:id": updateCampaignSchema,
};

/** Bodies that are not JSON: "METHOD path" -> media type. */
const rawBodies: Record<string, string> = {
  "POST /v1/inbound/mime": "message/rfc822",
};

const queries: Record<string, z.ZodObject> = {
  "GET /v1/customers": listCustomersQuery,
  "GET /v1/messages": listMessagesSchema,
  "GET /v1/campaigns": listCampaignsSchema,
  "GET /v1/feedback": listFeedbackQuery,
};

const jsonSchema = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any", target: "openapi-3.0" });
const problem = { description: "RFC 9457 problem", content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } } };

export function buildOpenApi(router: Router, serverUrl: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const layer of (router as unknown as { stack: Array<{ route?: any }> }).stack) {
    const route = layer.route;
    if (!route) continue;
    const path = String(route.path);
    const oaPath = path.replace(/:(\w+)/g, "{$1}");
    const guard = route.stack.find((l: any) => Array.isArray(l.handle?.roles));
    for (const method of Object.keys(route.methods)) {
      const key = `${method.toUpperCase()} ${path}`;
      const params = [...path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
      const q = queries[key] ?? (method === "get" && /s$|customers$|versions$/.test(path) ? listQuery : undefined);
      const qProps = q ? Object.entries((jsonSchema(q) as { properties?: Record<string, unknown> }).properties ?? {}) : [];
      paths[oaPath] ??= {};
      paths[oaPath][method] = {
        summary: key,
        ...(guard ? { security: [{ bearer: [] }], "x-roles": guard.handle.roles } : { security: [] }),
        parameters: [...params, ...qProps.map(([name, schema]) => ({ name, in: "query", required: false, schema }))],
        ...(bodies[key] ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(bodies[key]) } } } } : {}),
        ...(rawBodies[key] ? { requestBody: { required: true, content: { [rawBodies[key]]: { schema: { type: "string", format: "binary" } } } } } : {}),
        responses: { default: problem, "2XX": { description: "Success" } },
      };
    }
  }
  return {
    openapi: "3.0.3",
    info: { title: "Rapport API", version: "1", description: "Permission-first, personalized messaging engine. Contract: shared/API.md." },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Problem: {
          type: "object",
          required: ["type", "title", "status"],
          properties: {
            type: { type: "string" }, title: { type: "string" }, status: { type: "integer" }, detail: { type: "string" },
            instance: { type: "string" },
            errors: { type: "array", items: { type: "object", properties: { path: { type: "string" }, message: { type: "string" } } } },
          },
        },
      },
    },
    paths,
  };
}
