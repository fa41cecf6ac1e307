// Webhooks (admin, like the API's /v1/webhooks): endpoints, each one's delivery log, and replay of a
// delivery, over the webhooks module's use cases.
import type { Request, Response } from "express";
import { getWebhook, listDeliveries, listWebhooks, replayDelivery } from "../../modules/webhooks/webhooks.service.ts";
import { AppError, notFound } from "../../platform/errors.ts";
import { isUuid } from "../../platform/ids.ts";
import { optional } from "../forms.ts";
import { renderPage } from "../views.ts";

const nav_current = "webhooks";
const uuid = (v: unknown, what: string) => {
  const s = String(v);
  if (!isUuid(s)) throw notFound(what, s.slice(0, 100));
  return s;
};

export async function index(_req: Request, res: Response) {
  const page = await listWebhooks(200);
  renderPage(res, "webhooks", { title: "Webhooks", nav_current, webhooks: page.data, more: Boolean(page.nextCursor) });
}

export async function show(req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) {
  const id = uuid(req.params.id, "Webhook");
  const [w, log] = await Promise.all([getWebhook(id), listDeliveries(id, 50, optional(req.query.cursor))]);
  renderPage(res, "webhook", { title: "Webhook deliveries", nav_current, w, deliveries: log.data, nextCursor: log.nextCursor, ...extra }, status);
}

export async function replay(req: Request, res: Response) {
  const id = uuid(req.params.id, "Webhook");
  try {
    await replayDelivery(id, uuid(req.params.deliveryId, "Delivery"));
  } catch (err) {
    if (!(err instanceof AppError) || err.status >= 500 || err.status === 404) throw err;
    return show(req, res, { error: err.message }, err.status);
  }
  res.redirect(303, `/console/webhooks/${id}`);
}
