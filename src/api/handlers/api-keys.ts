import type { Request, Response } from "express";
import { createApiKeySchema } from "../../modules/api-keys/api-keys.schema.ts";
import * as keys from "../../modules/api-keys/api-keys.service.ts";
import { body, idParam, noQuery, query } from "../validate.ts";

export async function create(req: Request, res: Response) {
  res.status(201).json(await keys.createApiKey(body(req, createApiKeySchema)));
}
export async function list(req: Request, res: Response) {
  query(req, noQuery);
  res.json({ data: await keys.listApiKeys(), nextCursor: null });
}
export async function revoke(req: Request, res: Response) {
  await keys.revokeApiKey(idParam(req, "API key"));
  res.status(204).end();
}
