// What one import row may say: the fields of POST /v1/customers, plus optional consents that must
// carry their own evidence (an import never grants consent on its own).
import { z } from "zod";
import { createCustomerSchema, ianaTimezone as timezone } from "../customers/customers.schema.ts";
import { consentSource } from "../consent/consent.schema.ts";
import { topicKey } from "../topics/topics.schema.ts";

export const MAX_IMPORT_ROWS = 10_000;


export const importConsentSchema = z
  .strictObject({
    topic: topicKey,
    status: z.enum(["opted_in", "opted_out"]),
    source: consentSource(),
    proof: z.string().trim().min(1).max(4000).optional(),
  })
  .refine((c) => c.status !== "opted_in" || c.proof !== undefined, {
    path: ["proof"],
    message: "An imported opt-in needs a proof (and a source)",
  });

export const importRowSchema = createCustomerSchema
  .extend({
    timezone: timezone.optional(),
    consents: z.array(importConsentSchema).max(100).optional(),
  })
  .refine((r) => new Set((r.consents ?? []).map((c) => c.topic)).size === (r.consents ?? []).length, {
    path: ["consents"],
    message: "A topic is listed more than once",
  });
export type ImportRow = z.infer<typeof importRowSchema>;

/** JSON body. Rows are validated one by one in the job (row errors never reject the whole import). */
export const jsonImportSchema = z.strictObject({
  customers: z.array(z.unknown()).min(1, "The import has no rows"),
});
