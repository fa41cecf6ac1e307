import { z } from "zod";
import { keySchema } from "../../platform/keys.ts";
import { conditionSchema } from "./condition.ts";

export const personaKey = keySchema("persona");

const phrases = z.array(z.string().trim().min(1).max(500)).max(50);

export const createPersonaSchema = z.strictObject({
  key: personaKey,
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).optional(),
  story: z.string().max(10_000).optional(),
  goals: phrases.optional(),
  concerns: phrases.optional(),
  interests: phrases.optional(),
  rule: conditionSchema.optional(),
  // Higher wins when several rules match; ties go to the lowest key.
  priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
});
export type CreatePersona = z.infer<typeof createPersonaSchema>;

// null clears a field (a persona without a rule has explicit members only).
export const updatePersonaSchema = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  description: z.string().max(2000).nullable().optional(),
  story: z.string().max(10_000).nullable().optional(),
  goals: phrases.optional(),
  concerns: phrases.optional(),
  interests: phrases.optional(),
  rule: conditionSchema.nullable().optional(),
  priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
});
export type UpdatePersona = z.infer<typeof updatePersonaSchema>;
