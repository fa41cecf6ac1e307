import { z } from "zod";
import { cadenceSchema, MAX_PAUSE_DAYS } from "./cadence.ts";

export const channelSchema = z.enum(["email"]);

/**
 * How consent was collected, kept in clear in the ledger for good (it outlives erasure, unlike the
 * encrypted proof, ip and user agent): so it is a label, not free text that could quote the person.
 * Case is folded ("Signup-Form" is stored as "signup-form").
 */
export const SOURCE_PATTERN = /^[a-z0-9][a-z0-9._:-]{0,63}$/;
export const consentSource = (required = "A consent change needs a source") =>
  z
    .string({ error: required })
    .trim()
    .toLowerCase()
    .min(1, required)
    .regex(SOURCE_PATTERN, "Use a label such as 'signup-form': up to 64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit; put free text in proof");

export const putConsentSchema = z.strictObject({
  status: z.enum(["opted_in", "opted_out"]),
  channel: channelSchema.optional(),
  source: consentSource(),
  proof: z.string().max(4000).optional(),
  ip: z.union([z.ipv4(), z.ipv6()]).optional(),
  userAgent: z.string().max(1000).optional(),
});
export type PutConsent = z.infer<typeof putConsentSchema>;

/** PUT /v1/customers/{id}/cadence: the customer's own cadence and/or a pause of all marketing. */
export const putCadenceSchema = z
  .strictObject({
    cadence: cadenceSchema.optional(),
    pausedUntil: z.iso
      .datetime({ offset: true })
      .nullable()
      .optional()
      .refine((v) => v == null || (Date.parse(v) > Date.now() && Date.parse(v) < Date.now() + MAX_PAUSE_DAYS * 86_400_000), {
        message: `A pause ends in the future, within ${MAX_PAUSE_DAYS} days (null ends a pause)`,
      }),
    source: consentSource("A cadence change needs a source"),
    proof: z.string().max(4000).optional(),
    ip: z.union([z.ipv4(), z.ipv6()]).optional(),
    userAgent: z.string().max(1000).optional(),
  })
  .refine((v) => v.cadence !== undefined || v.pausedUntil !== undefined, { message: "Give cadence, pausedUntil or both", path: ["cadence"] });
export type PutCadence = z.infer<typeof putCadenceSchema>;
