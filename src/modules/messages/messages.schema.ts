import { z } from "zod";
import { pageQuery } from "../../platform/pagination.ts";
import { emailSchema } from "../customers/email.ts";
import { topicKey } from "../topics/topics.schema.ts";

// Recipient: exactly one of customerId, externalId or email (an existing customer in every case).
export const recipientSchema = z.union([
  z.strictObject({ customerId: z.string().min(1).max(100) }),
  z.strictObject({ externalId: z.string().trim().min(1).max(200) }),
  z.strictObject({ email: emailSchema }),
]);

export const sendMessageSchema = z.strictObject({
  to: recipientSchema,
  template: z.string().min(1).max(100),
  // Beyond PostgreSQL's integer it failed the send API's whole group statement (a 500 for it).
  version: z.number().int().min(1).max(2_147_483_647).optional(),
  topic: topicKey,
  data: z
    .record(z.string().max(200), z.unknown())
    .refine((d) => JSON.stringify(d).length <= 256 * 1024, "data must serialise to at most 256 KB")
    .optional(),
});
export type SendMessage = z.infer<typeof sendMessageSchema>;

export const messageStatus = z.enum(["queued", "sending", "sent", "failed", "bounced", "suppressed"]);
export type MessageStatus = z.infer<typeof messageStatus>;

export const suppressionReason = z.enum(["no_consent", "unsubscribed", "suppressed_address", "erased", "frequency_cap", "cadence", "canceled"]);
export type SuppressionReason = z.infer<typeof suppressionReason>;

export const listMessagesSchema = z.strictObject({
  ...pageQuery.shape,
  customerId: z.string().max(100).optional(),
  campaignId: z.string().max(100).optional(),
  status: messageStatus.optional(),
});
export type ListMessages = z.infer<typeof listMessagesSchema>;

// Visible ASCII, as in the IETF Idempotency-Key draft; scoped per API key when stored.
export const idempotencyKeySchema = z.string().min(1).max(255).regex(/^[\x21-\x7e]+$/, "Use 1-255 visible ASCII characters");
