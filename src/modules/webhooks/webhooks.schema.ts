import { z } from "zod";
import { pageQuery } from "../../platform/pagination.ts";

/** Events an endpoint may subscribe to (API.md, Webhooks). */
export const webhookEventTypes = [
  "message.sent", "message.failed", "message.bounced", "message.opened", "message.clicked", "message.complained",
  "consent.changed", "customer.unsubscribed", "campaign.completed", "feedback.received",
  // Extension: a reply or an auto-reply to a message (inbound mail; see the README's API notes).
  "message.replied",
] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];
/** Sent only by POST /v1/webhooks/{id}/test, whatever the endpoint subscribed to. */
export const TEST_EVENT = "webhook.test";

const url = z.string().trim().max(2000).url();
const events = z.array(z.enum(webhookEventTypes)).min(1).max(webhookEventTypes.length).transform((e) => [...new Set(e)]);

export const createWebhookSchema = z.strictObject({ url, events });
export type CreateWebhook = z.infer<typeof createWebhookSchema>;

/** `enabled: true` re-enables an endpoint the engine disabled; `false` disables it by hand. */
export const updateWebhookSchema = z.strictObject({ url: url.optional(), events: events.optional(), enabled: z.boolean().optional() });
export type UpdateWebhook = z.infer<typeof updateWebhookSchema>;

export const deliveriesQuery = pageQuery;
