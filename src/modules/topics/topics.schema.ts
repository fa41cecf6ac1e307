import { z } from "zod";
import { keySchema } from "../../platform/keys.ts";

export const topicKey = keySchema("topic");

export const createTopicSchema = z.strictObject({
  key: topicKey,
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).optional(),
  kind: z.enum(["marketing", "transactional"]),
  doubleOptIn: z.boolean().optional(),
  // Open and click tracking; unset: on for marketing, off for transactional.
  tracking: z.strictObject({ opens: z.boolean().optional(), clicks: z.boolean().optional() }).optional(),
});
export type CreateTopic = z.infer<typeof createTopicSchema>;

export const updateTopicSchema = createTopicSchema.omit({ key: true, kind: true }).partial();
export type UpdateTopic = z.infer<typeof updateTopicSchema>;
