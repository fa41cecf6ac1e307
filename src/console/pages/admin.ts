// Topics, suppression lookups and API keys: small pages over the same use cases as the API.
import type { Request, Response } from "express";
import { createApiKeySchema } from "../../modules/api-keys/api-keys.schema.ts";
import { createApiKey, listApiKeys, revokeApiKey } from "../../modules/api-keys/api-keys.service.ts";
import { emailSchema } from "../../modules/customers/email.ts";
import { suppressionOf } from "../../modules/suppressions/suppressions.service.ts";
import { createTopicSchema } from "../../modules/topics/topics.schema.ts";
import { createTopic, listTopics } from "../../modules/topics/topics.service.ts";
import { AppError, notFound } from "../../platform/errors.ts";
import { isUuid } from "../../platform/ids.ts";
import { optional, parseWith, str } from "../forms.ts";
import { renderPage } from "../views.ts";

const clientError = (err: unknown): err is AppError => err instanceof AppError && err.status < 500;

export async function topics(_req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) {
  const page = await listTopics(500);
  renderPage(res, "topics", { title: "Topics", nav_current: "topics", topics: page.data, more: Boolean(page.nextCursor), ...extra }, status);
}

export async function postTopic(req: Request, res: Response) {
  const b = req.body as Record<string, unknown>;
  try {
    await createTopic(parseWith(createTopicSchema, {
      key: str(b.key).trim(), name: str(b.name).trim(), description: optional(b.description), kind: str(b.kind), doubleOptIn: str(b.doubleOptIn) === "on",
    }));
  } catch (err) {
    if (!clientError(err)) throw err;
    return topics(req, res, { error: err.message, v: b }, err.status);
  }
  res.redirect(303, "/console/topics");
}

/** Answers "is this address suppressed?" through the keyed hash; addresses are never listed. */
export async function suppressions(req: Request, res: Response) {
  const address = str(req.query.address).trim().slice(0, 254);
  let result: { suppressed: boolean; reason?: string; since?: string } | undefined;
  let error: string | undefined;
  if (address) {
    const parsed = emailSchema.safeParse(address);
    if (!parsed.success) error = "That is not an email address.";
    else {
      const s = await suppressionOf(parsed.data);
      result = s ? { suppressed: true, ...s } : { suppressed: false };
    }
  }
  renderPage(res, "suppressions", { title: "Suppressions", nav_current: "suppressions", address, result, error });
}

export async function apiKeys(_req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) {
  renderPage(res, "api-keys", { title: "API keys", nav_current: "apiKeys", keys: await listApiKeys(), roles: ["marketer", "developer", "admin"], ...extra }, status);
}

export async function postApiKey(req: Request, res: Response) {
  try {
    const created = await createApiKey(parseWith(createApiKeySchema, { name: str(req.body.name), role: str(req.body.role) }));
    // Shown once, in this response only (never in a URL or a redirect).
    return apiKeys(req, res, { created }, 201);
  } catch (err) {
    if (!clientError(err)) throw err;
    return apiKeys(req, res, { error: err.message }, err.status);
  }
}

export async function postRevoke(req: Request, res: Response) {
  const id = String(req.params.id);
  if (!isUuid(id)) throw notFound("API key", id.slice(0, 100));
  await revokeApiKey(id);
  res.redirect(303, "/console/api-keys");
}
