import type { Request, Response } from "express";
import { z } from "zod";
import { listCustomers } from "../../modules/customers/customers.service.ts";
import { createPersonaSchema, personaKey, updatePersonaSchema } from "../../modules/personas/personas.schema.ts";
import * as personas from "../../modules/personas/personas.service.ts";
import { body, listQuery, noQuery, params, query } from "../validate.ts";

const keyParam = z.object({ key: personaKey });

export async function create(req: Request, res: Response) {
  const p = await personas.createPersona(body(req, createPersonaSchema));
  res.status(201).location(`/v1/personas/${p.key}`).json(p);
}
export async function get(req: Request, res: Response) {
  query(req, noQuery);
  res.json(await personas.getPersona(params(req, keyParam).key));
}
export async function update(req: Request, res: Response) {
  const { key } = params(req, keyParam);
  res.json(await personas.updatePersona(key, body(req, updatePersonaSchema)));
}
export async function remove(req: Request, res: Response) {
  await personas.deletePersona(params(req, keyParam).key);
  res.status(204).end();
}
export async function list(req: Request, res: Response) {
  const q = query(req, listQuery);
  res.json(await personas.listPersonas(q.limit, q.cursor));
}
/** Current members: explicit, plus rule members without an explicit persona. */
export async function customers(req: Request, res: Response) {
  const { key } = params(req, keyParam);
  const q = query(req, listQuery);
  await personas.findPersonaByKey(key);
  res.json(await listCustomers({ persona: key, limit: q.limit, cursor: q.cursor }));
}
