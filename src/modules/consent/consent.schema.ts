import { z } from "zod";

export const channelSchema = z.enum(["email"]);

export const putConsentSchema = z.strictObject({
  status: z.enum(["opted_in", "opted_out"]),
  channel: channelSchema.optional(),
  source: z.string().trim().min(1).max(200),
  proof: z.string().max(4000).optional(),
  ip: z.union([z.ipv4(), z.ipv6()]).optional(),
  userAgent: z.string().max(1000).optional(),
});
export type PutConsent = z.infer<typeof putConsentSchema>;
