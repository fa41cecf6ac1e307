import type { Request, Response } from "express";
import * as webhooks from "../../modules/webhooks/webhooks.service.ts";
import { createWebhookSchema, deliveriesQuery, updateWebhookSchema } from "../../modules/webhooks/webhooks.schema.ts";
import { body, idParam, listQuery, noQuery, query } from "../validate.ts";

const id = (req: Request) => idParam(req, "Webhook");

export async function create(req: Request, res: Response) {
  res.status(201).json(await webhooks.createWebhook(body(req, createWebhookSchema)));
}
export async function list(req: Request, res: Response) {
  const q = query(req, listQuery);
  res.json(await webhooks.listWebhooks(q.limit, q.cursor));
}
export async function get(req: Request, res: Response) {
  query(req, noQuery);
  res.json(await webhooks.getWebhook(id(req)));
}
export async function update(req: Request, res: Response) {
  const webhookId = id(req);
  res.json(await webhooks.updateWebhook(webhookId, body(req, updateWebhookSchema)));
}
export async function remove(req: Request, res: Response) {
  await webhooks.deleteWebhook(id(req));
  res.status(204).end();
}
export async function rotate(req: Request, res: Response) {
  res.json(await webhooks.rotateSecret(id(req)));
}
export async function test(req: Request, res: Response) {
  res.status(202).json(await webhooks.sendTestEvent(id(req)));
}
export async function deliveries(req: Request, res: Response) {
  const webhookId = id(req);
  const q = query(req, deliveriesQuery);
  res.json(await webhooks.listDeliveries(webhookId, q.limit, q.cursor));
}
export async function replay(req: Request, res: Response) {
  const webhookId = id(req);
  res.status(202).json(await webhooks.replayDelivery(webhookId, idParam(req, "Delivery", "deliveryId")));
}
