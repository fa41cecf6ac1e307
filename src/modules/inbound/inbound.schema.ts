import { z } from "zod";
import { emailSchema } from "../customers/email.ts";

/** POST /v1/inbound/bounces: a bounce or complaint an ESP or MTA reported by other means than mail. */
export const bounceReportSchema = z
  .strictObject({
    messageId: z.uuid({ message: "A message id" }).optional(),
    email: emailSchema.optional(),
    type: z.enum(["hard", "soft", "complaint"]),
    diagnostic: z.string().max(1000).optional(),
    // Extension: the reporter's own id of this report. The same report twice changes nothing; without
    // it, a body identical to one received the same day (UTC) is taken for the same report.
    reportId: z.string().min(1).max(200).optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.messageId === undefined) === (v.email === undefined)) {
      ctx.addIssue({ code: "custom", path: ["messageId"], message: "Give either messageId or email (exactly one)" });
    }
  });
export type BounceReport = z.infer<typeof bounceReportSchema>;
