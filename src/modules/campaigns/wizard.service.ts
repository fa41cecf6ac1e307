// The console's campaign wizard: one use case per step (audience, content, schedule, review), each
// over the API's own schema (createCampaignSchema) and use cases (audience preview, the template
// preview that renders as sending does, create and schedule). The wizard holds no rule of its own:
// a step's errors are the create schema's errors on that step's fields.
import type { z } from "zod";
import { AppError, type FieldError } from "../../platform/errors.ts";
import { personasByPriority } from "../personas/personas.service.ts";
import { previewTemplate } from "../templates/preview.service.ts";
import { listVersions } from "../templates/templates.service.ts";
import { findTopicByKey } from "../topics/topics.service.ts";
import { audiencePreview } from "./audience.ts";
import { combinationErrors, createCampaignSchema, type CreateCampaign } from "./campaigns.schema.ts";
import { createCampaign } from "./campaigns.service.ts";
import { scheduleCampaign } from "./lifecycle.service.ts";

export const STEPS = ["audience", "content", "schedule", "review"] as const;
export type Step = (typeof STEPS)[number];
const FIELDS: Record<Exclude<Step, "review">, string[]> = {
  audience: ["name", "topic", "audience"],
  content: ["template", "version"],
  schedule: ["scheduledAt", "localTime", "defaultTimezone", "sendWindow", "rateLimitPerMinute"],
};

const issues = (e: z.ZodError): FieldError[] =>
  e.issues.flatMap((i) => i.code === "unrecognized_keys" ? i.keys.map((k) => ({ path: k, message: `Unknown field '${k}'` })) : [{ path: i.path.map(String).join("."), message: i.message }]);

/** The create schema's errors on one step's fields (the API's validation, nothing else). */
export function stepErrors(draft: unknown, step: Exclude<Step, "review">): FieldError[] {
  const r = createCampaignSchema.safeParse(draft);
  const all = r.success ? [] : issues(r.error);
  // Refinements run only once the rest is valid: the schedule step also asks for the combinations.
  if (step === "schedule") all.push(...combinationErrors({ ...(draft as CreateCampaign) }));
  const seen = new Set<string>();
  return all.filter((e) => FIELDS[step].includes(e.path.split(".")[0]) && !seen.has(e.path + e.message) && seen.add(e.path + e.message));
}

/** The first step before `target` whose fields are invalid, with its errors. */
export function firstInvalidStep(draft: unknown, target: Step): { step: Step; errors: FieldError[] } | null {
  for (const s of STEPS.slice(0, STEPS.indexOf(target))) {
    const errors = stepErrors(draft, s as Exclude<Step, "review">);
    if (errors.length) return { step: s, errors };
  }
  return null;
}

/** Step 1: every persona with its members and how many consent to the topic today. */
export async function audienceStep(topicKey: string | undefined) {
  const personas = await personasByPriority();
  const topic = topicKey ? await findTopicByKey(topicKey).catch(() => null) : null;
  const counts = topic && personas.length
    ? await audiencePreview({ personas: personas.map((p) => p.key) }, { id: topic.id, kind: topic.kind }, null)
    : null;
  const by = new Map((counts?.byPersona ?? []).map((r) => [r.persona, r]));
  return personas.map((p) => ({ key: p.key, name: p.name, total: by.get(p.key)?.total ?? null, consenting: by.get(p.key)?.consenting ?? null }));
}

/** Step 2: the template's versions and a preview per chosen persona (the render that sends). */
export async function contentStep(template: string, version: number | undefined, personas: string[]) {
  const versions = (await listVersions(template, 200)).data.map((v) => v.version);
  const chosen = version ?? versions.at(-1);
  const previews = await Promise.all(personas.slice(0, 8).map(async (persona) => {
    const r = await previewTemplate(template, { version: chosen, persona });
    return { persona, subject: r.subject, html: r.html, variant: r.variant };
  }));
  return { versions, version: chosen, previews };
}

/** Step 4: the audience the campaign would reach now (same preview as GET .../audience). */
export async function reviewStep(draft: CreateCampaign) {
  const topic = await findTopicByKey(draft.topic);
  return audiencePreview(draft.audience, { id: topic.id, kind: topic.kind }, null);
}

/**
 * Create the draft (the API's create), and schedule it when asked (the API's schedule). A refused
 * schedule (e.g. the compliance guard's 422) leaves the draft, returned with the refusal.
 */
export async function createFromWizard(draft: CreateCampaign, actor: string, schedule: boolean) {
  const c = await createCampaign(draft, actor);
  if (!schedule) return { campaign: c, refused: null };
  try {
    return { campaign: await scheduleCampaign(c.id), refused: null };
  } catch (err) {
    if (err instanceof AppError && err.status < 500) return { campaign: c, refused: err };
    throw err;
  }
}
