import type { Request, Response } from "express";
import { createCustomerSchema, listCustomersQuery, updateCustomerSchema } from "../../modules/customers/customers.schema.ts";
import * as customers from "../../modules/customers/customers.service.ts";
import { eraseCustomer } from "../../modules/customers/erasure.service.ts";
import { decodeTimelineCursor, timeline as readTimeline } from "../../modules/customers/timeline.repository.ts";
import { body, idParam, listQuery, noQuery, query } from "../validate.ts";

export async function create(req: Request, res: Response) {
  const c = await customers.createCustomer(body(req, createCustomerSchema));
  res.status(201).location(`/v1/customers/${c.id}`).json(c);
}
export async function get(req: Request, res: Response) {
  query(req, noQuery);
  res.json(await customers.getCustomer(idParam(req, "Customer")));
}
export async function update(req: Request, res: Response) {
  const id = idParam(req, "Customer");
  res.json(await customers.updateCustomer(id, body(req, updateCustomerSchema)));
}
export async function list(req: Request, res: Response) {
  res.json(await customers.listCustomers(query(req, listCustomersQuery)));
}
export async function erase(req: Request, res: Response) {
  await eraseCustomer(idParam(req, "Customer"));
  res.status(204).end();
}
export async function timeline(req: Request, res: Response) {
  const id = idParam(req, "Customer");
  const q = query(req, listQuery);
  await customers.requireCustomer(id);
  res.json(await readTimeline(id, q.limit, decodeTimelineCursor(q.cursor)));
}
