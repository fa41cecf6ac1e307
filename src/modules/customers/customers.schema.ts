import { z } from "zod";
import { keySchema } from "../../platform/keys.ts";
import { pageQuery } from "../../platform/pagination.ts";
import { emailSchema } from "./email.ts";

// Intl rejects unknown zones; asking costs ~0.15 ms, so answers are remembered (bounded: the set of
// real zones is small, and garbage is not cached).
const knownZones = new Set<string>();
export function isIanaTimezone(tz: string): boolean {
  if (knownZones.has(tz)) return true;
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    if (knownZones.size < 2000) knownZones.add(tz);
    return true;
  } catch {
    return false;
  }
}

export const ianaTimezone = z.string().max(64).refine(isIanaTimezone, "Unknown IANA time zone (e.g. Europe/Paris)");

export const locale = z.string().max(35).refine((l) => {
  try {
    return Intl.getCanonicalLocales(l).length === 1;
  } catch {
    return false;
  }
}, "Invalid BCP 47 locale (e.g. fr-FR)");

const personaKey = keySchema("persona");

const attributes = z
  .record(z.string().max(200), z.unknown())
  .refine((a) => JSON.stringify(a).length <= 64 * 1024, "Attributes must serialise to at most 64 KB");

export const createCustomerSchema = z.strictObject({
  email: emailSchema,
  externalId: z.string().trim().min(1).max(200).optional(),
  name: z.string().trim().max(200).optional(),
  locale: locale.optional(),
  timezone: ianaTimezone.optional(),
  attributes: attributes.optional(),
  persona: personaKey.optional(),
});
export type CreateCustomer = z.infer<typeof createCustomerSchema>;

export const updateCustomerSchema = z.strictObject({
  email: emailSchema.optional(),
  externalId: z.string().trim().min(1).max(200).nullable().optional(),
  name: z.string().trim().max(200).nullable().optional(),
  locale: locale.nullable().optional(),
  timezone: ianaTimezone.nullable().optional(),
  // Replaces the attributes object as a whole (send the full object).
  attributes: attributes.optional(),
  // null removes the explicit persona (rules apply again).
  persona: personaKey.nullable().optional(),
});
export type UpdateCustomer = z.infer<typeof updateCustomerSchema>;

export const listCustomersQuery = pageQuery.extend({
  email: z.string().max(254).optional(),
  externalId: z.string().max(200).optional(),
  persona: personaKey.optional(),
});
