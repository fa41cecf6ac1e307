// GET /openapi.json (OpenAPI 3.1): paths and roles come from the live route table, request bodies and
// queries from the same zod schemas that validate them, responses from openapi-responses.ts (checked
// against real answers by test/openapi.test.ts), tags and summaries from openapi-operations.ts.
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
import { errorCodes, type ErrorCode } from "../platform/errors.ts";
import { operations, tags } from "./openapi-operations.ts";
import { components, type Success } from "./openapi-responses.ts";
import { problemType } from "./problem.ts";
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
  "GET /dev/outbox": listQuery,
};

/** zod to JSON Schema 2020-12 (OpenAPI 3.1 schemas are JSON Schema): requests as input, responses as output. */
const jsonSchema = (s: z.ZodType, io: "input" | "output" = "input") => {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { io, unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
};
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const problemDetail: Record<ErrorCode, string> = {
  validation: "The request body is invalid: email: Invalid email address",
  unauthorized: "Missing or invalid API key",
  forbidden: "This API key's role may not call this route",
  not_found: "Customer '01a2298d-dc9d-719e-842f-a664e60e2183' does not exist",
  conflict: "A customer with this email already exists",
  payload_too_large: "The request body is larger than the server accepts",
  unsupported_media_type: "Send a JSON body with Content-Type: application/json",
  unprocessable: "Persona 'family' does not exist",
  too_many_requests: "Too many requests; retry later",
  internal: "Internal server error",
  unavailable: "The database is unavailable; retry shortly",
};
// RFC 9457 problem types: one response component per code, each with an example of its body.
const problemResponses = Object.fromEntries(
  Object.entries(errorCodes).map(([code, { status, title }]) => [
    problemName(code as ErrorCode),
    {
      description: title,
      ...(code === "unavailable" || code === "too_many_requests" ? { headers: { "Retry-After": { description: "Seconds to wait", schema: { type: "integer" } } } } : {}),
      content: {
        "application/problem+json": {
          schema: ref("Problem"),
          example: { type: problemType(code as ErrorCode), title, status, detail: problemDetail[code as ErrorCode], instance: "/v1/customers" },
        },
      },
    },
  ]),
);
function problemName(code: ErrorCode): string {
  return code.split("_").map((w) => w[0].toUpperCase() + w.slice(1)).join("");
}
const problemRef = (code: ErrorCode) => ({ $ref: `#/components/responses/${problemName(code)}` });

/** The problems an operation may answer, from what it takes. */
function errorResponses(method: string, path: string, authed: boolean, hasBody: boolean) {
  const codes: ErrorCode[] = [];
  const v1 = path.startsWith("/v1/");
  if (v1 || hasBody) codes.push("validation");
  if (authed) codes.push("unauthorized", "forbidden");
  if (path.includes(":")) codes.push("not_found");
  if (v1 && method !== "get" && method !== "delete") codes.push("conflict", "unprocessable");
  if (hasBody) codes.push("payload_too_large", "unsupported_media_type");
  if (path === "/v1/customers/import") codes.push("too_many_requests");
  codes.push("unavailable");
  return Object.fromEntries(codes.map((c) => [String(errorCodes[c].status), problemRef(c)]));
}

function successResponses(list: Success[]) {
  return Object.fromEntries(
    list.map((s) => {
      const headers = "headers" in s && s.headers ? { headers: Object.fromEntries(Object.entries(s.headers).map(([h, d]) => [h, { description: d, schema: { type: "string" } }])) } : {};
      if ("json" in s) return [String(s.status), { description: s.description, content: { "application/json": { schema: ref(s.json) } } }];
      if ("page" in s) {
        const schema = { type: "object", required: ["data", "nextCursor"], additionalProperties: false, properties: { data: { type: "array", items: ref(s.page) }, nextCursor: { type: ["string", "null"] } } };
        return [String(s.status), { description: s.description, content: { "application/json": { schema } } }];
      }
      if ("media" in s) return [String(s.status), { description: s.description, ...headers, content: { [s.media]: { schema: { type: "string" } } } }];
      return [String(s.status), { description: s.description, ...headers }];
    }),
  );
}

interface RouteLayer {
  route?: { path: string; methods: Record<string, boolean>; stack: Array<{ handle?: { roles?: string[] } }> };
}

export function buildOpenApi(router: Router, serverUrl: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const layer of (router as unknown as { stack: RouteLayer[] }).stack) {
    const route = layer.route;
    if (!route) continue;
    const path = String(route.path);
    const oaPath = path.replace(/:(\w+)/g, "{$1}");
    const guard = route.stack.find((l) => Array.isArray(l.handle?.roles));
    for (const method of Object.keys(route.methods)) {
      const key = `${method.toUpperCase()} ${path}`;
      const op = operations[`${method.toUpperCase()} ${oaPath}`];
      if (!op) throw new Error(`Route '${key}' is not described in src/api/openapi-operations.ts`);
      const params = [...path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
      const q = queries[key] ?? (method === "get" && /s$|customers$|versions$/.test(path) ? listQuery : undefined);
      const qProps = q ? Object.entries((jsonSchema(q) as { properties?: Record<string, unknown> }).properties ?? {}) : [];
      const body = bodies[key];
      paths[oaPath] ??= {};
      paths[oaPath][method] = {
        operationId: operationId(method, oaPath),
        tags: [op.tag],
        summary: op.summary,
        ...(op.description ? { description: op.description } : {}),
        ...(guard ? { security: [{ bearer: [] }], "x-roles": guard.handle!.roles } : { security: [] }),
        parameters: [
          ...params,
          ...qProps.map(([name, schema]) => ({ name, in: "query", required: false, schema })),
          ...(key === "POST /v1/messages" ? [{ name: "Idempotency-Key", in: "header", required: false, schema: { type: "string", maxLength: 255 } }] : []),
        ],
        ...(body ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(body) } } } } : {}),
        ...(rawBodies[key] ? { requestBody: { required: true, content: { [rawBodies[key]]: { schema: { type: "string", format: "binary" } } } } } : {}),
        ...(key === "POST /v1/customers/import"
          ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(jsonImportSchema) }, "text/csv": { schema: { type: "string" }, example: "email,name,consent.weekly_news,consent_source,consent_proof\nada@example.com,Ada,opted_in,signup-form,ticked the box on 2026-05-01\n" } } } }
          : {}),
        responses: { ...successResponses(op.success), ...errorResponses(method, path, Boolean(guard), Boolean(body)) },
      };
    }
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Rapport API",
      version: "1",
      description: [
        "Permission-first, personalized messaging: customers hold their consent per topic and channel, marketers write persona-specific templates, developers call the send API, and messages go out only to customers who consent at the moment of sending.",
        "",
        "Authenticate with `Authorization: Bearer <API key>`; each operation lists the roles it admits in `x-roles` (admin is always admitted).",
        "",
        "Errors are RFC 9457 problem details (`application/problem+json`). Problem types:",
        "",
        ...Object.entries(errorCodes).map(([code, { status, title }]) => `- \`${problemType(code as ErrorCode)}\` (${status}): ${title}`),
      ].join("\n"),
    },
    servers: [{ url: serverUrl }],
    tags,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        ...Object.fromEntries(Object.entries(components).map(([name, schema]) => [name, jsonSchema(schema, "output")])),
        Problem: {
          type: "object",
          required: ["type", "title", "status"],
          properties: {
            type: { type: "string", format: "uri", examples: Object.keys(errorCodes).map((c) => problemType(c as ErrorCode)) },
            title: { type: "string" },
            status: { type: "integer" },
            detail: { type: "string" },
            instance: { type: "string" },
            errors: { type: "array", items: { type: "object", required: ["path", "message"], properties: { path: { type: "string" }, message: { type: "string" } } } },
          },
        },
      },
      responses: problemResponses,
    },
    paths,
  };
}

/** "get /v1/customers/{id}/timeline" -> "getCustomersIdTimeline". */
function operationId(method: string, path: string): string {
  const words = path.replace(/^\/v1/, "").split(/[/{}\-.]+/).filter(Boolean);
  return method + words.map((w) => w[0].toUpperCase() + w.slice(1)).join("");
}
