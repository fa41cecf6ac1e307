import { z } from "zod";
import type { FieldError } from "../../platform/errors.ts";
import { pageQuery } from "../../platform/pagination.ts";
import { conditionSchema } from "../personas/condition.ts";
import { personaKey } from "../personas/personas.schema.ts";
import { topicKey } from "../topics/topics.schema.ts";
import { ianaTimezone } from "../customers/customers.schema.ts";
import { minutesOf } from "./local-time.ts";

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "Use HH:MM (24-hour clock)");
const zone = ianaTimezone;

export const audienceSchema = z
  .strictObject({
    personas: z.array(personaKey).min(1).max(100).optional(),
    rule: conditionSchema.optional(),
    // Skip customers who were sent any campaign message in the last N hours.
    excludeRecentHours: z.number().int().min(1).max(24 * 366).optional(),
  })
  .refine((a) => a.personas !== undefined || a.rule !== undefined, "Give personas, a rule, or both (both: members of those personas matching the rule)");
export type Audience = z.infer<typeof audienceSchema>;

const fields = {
  name: z.string().trim().min(1).max(200),
  topic: topicKey,
  template: z.string().min(1).max(100),
  version: z.number().int().min(1),
  audience: audienceSchema,
  scheduledAt: z.iso.datetime({ offset: true }),
  localTime: hhmm,
  defaultTimezone: zone,
  sendWindow: z.strictObject({ start: hhmm, end: hhmm }),
  rateLimitPerMinute: z.number().int().min(1).max(1_000_000),
};

export interface ScheduleOptions {
  localTime?: string | null;
  defaultTimezone?: string | null;
  sendWindow?: { start: string; end: string } | null;
}

/** Combinations that cannot mean anything, with the path to blame (400). */
export function combinationErrors(c: ScheduleOptions): FieldError[] {
  const errors: FieldError[] = [];
  if (c.defaultTimezone && !c.localTime && !c.sendWindow) {
    errors.push({ path: "defaultTimezone", message: "defaultTimezone applies only with localTime or sendWindow" });
  }
  const w = c.sendWindow;
  if (w && w.start === w.end) errors.push({ path: "sendWindow.end", message: "The send window must not be empty (start equals end)" });
  if (w && c.localTime && w.start !== w.end) {
    const t = minutesOf(c.localTime);
    const [s, e] = [minutesOf(w.start), minutesOf(w.end)];
    const inside = s < e ? t >= s && t < e : t >= s || t < e;
    if (!inside) errors.push({ path: "localTime", message: `localTime ${c.localTime} is outside the send window ${w.start}-${w.end}` });
  }
  return errors;
}

const refineCombination = (c: ScheduleOptions, ctx: z.RefinementCtx) => {
  for (const e of combinationErrors(c)) ctx.addIssue({ code: "custom", path: e.path.split("."), message: e.message });
};

export const createCampaignSchema = z
  .strictObject({
    name: fields.name, topic: fields.topic, template: fields.template, version: fields.version.optional(), audience: fields.audience,
    scheduledAt: fields.scheduledAt.optional(), localTime: fields.localTime.optional(), defaultTimezone: fields.defaultTimezone.optional(),
    sendWindow: fields.sendWindow.optional(), rateLimitPerMinute: fields.rateLimitPerMinute.optional(),
  })
  .superRefine(refineCombination);
export type CreateCampaign = z.infer<typeof createCampaignSchema>;

// PATCH: any field; null clears an optional one. Combinations are checked on the result.
export const updateCampaignSchema = z.strictObject({
  name: fields.name.optional(), topic: fields.topic.optional(), template: fields.template.optional(),
  version: fields.version.nullable().optional(), audience: fields.audience.optional(),
  scheduledAt: fields.scheduledAt.nullable().optional(), localTime: fields.localTime.nullable().optional(),
  defaultTimezone: fields.defaultTimezone.nullable().optional(), sendWindow: fields.sendWindow.nullable().optional(),
  rateLimitPerMinute: fields.rateLimitPerMinute.nullable().optional(),
});
export type UpdateCampaign = z.infer<typeof updateCampaignSchema>;

export const campaignStatus = z.enum(["draft", "scheduled", "running", "paused", "completed", "canceled"]);
export const listCampaignsSchema = z.strictObject({ ...pageQuery.shape, status: campaignStatus.optional() });
export type ListCampaigns = z.infer<typeof listCampaignsSchema>;
