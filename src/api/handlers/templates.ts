import type { Request, Response } from "express";
import { z } from "zod";
import { previewTemplate } from "../../modules/templates/preview.service.ts";
import { createTemplateSchema, createVersionSchema, previewSchema, templateKey, versionParam } from "../../modules/templates/templates.schema.ts";
import * as templates from "../../modules/templates/templates.service.ts";
import { body, listQuery, noQuery, params, query } from "../validate.ts";

const keyParam = z.object({ key: templateKey });

export async function create(req: Request, res: Response) {
  const t = await templates.createTemplate(body(req, createTemplateSchema));
  res.status(201).location(`/v1/templates/${t.key}/versions/${t.version}`).json(t);
}
export async function createVersion(req: Request, res: Response) {
  const { key } = params(req, keyParam);
  const v = await templates.createVersion(key, body(req, createVersionSchema));
  res.status(201).location(`/v1/templates/${key}/versions/${v.version}`).json(v);
}
export async function list(req: Request, res: Response) {
  const q = query(req, listQuery);
  res.json(await templates.listTemplates(q.limit, q.cursor));
}
/** The latest version. */
export async function get(req: Request, res: Response) {
  query(req, noQuery);
  res.json(await templates.getTemplate(params(req, keyParam).key));
}
export async function listVersions(req: Request, res: Response) {
  const { key } = params(req, keyParam);
  const q = query(req, listQuery);
  res.json(await templates.listVersions(key, q.limit, q.cursor));
}
export async function getVersion(req: Request, res: Response) {
  const { key, n } = params(req, versionParam);
  query(req, noQuery);
  res.json(await templates.getTemplate(key, n));
}
export async function preview(req: Request, res: Response) {
  const { key } = params(req, keyParam);
  res.json(await previewTemplate(key, body(req, previewSchema)));
}
