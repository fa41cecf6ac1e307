import { z } from "zod";
import { keySchema } from "../../platform/keys.ts";
import { personaKey } from "../personas/personas.schema.ts";

export const templateKey = keySchema("template");

// Saving prepares every part (parse, lint, CSS inlining, Handlebars compile, text derivation) in
// the template worker pool (src/templates/pool.ts), off the event loop, within a time budget;
// CSS inlining is capped before it starts (src/templates/complexity.ts). The cost grows with size
// and, more steeply, with the number of Handlebars tags (~50 µs per tag per compile: 256 KB of
// "{{a}}" is 50,000 tags, seconds per compile). These caps keep a legitimate version well inside
// the budget. Real emails are far smaller: Gmail clips a message above 102 KB of HTML, and even a
// tag-dense 256 KB template has ~10,000. RFC 5322 caps a header line at 998 characters.
export const LIMITS = {
  subject: 998,
  html: 256 * 1024,
  text: 128 * 1024,
  variants: 50,
  /** Handlebars tags ("{{") in one part. */
  tags: 10_000,
  /** Every subject, html and text of the version and its variants together. */
  total: 1024 * 1024,
  totalTags: 20_000,
} as const;

/** Occurrences of "{{": every tag has one (an upper bound: escaped \{{ and {{{ count too). */
export function countTags(s: string): number {
  let n = 0;
  for (let i = s.indexOf("{{"); i >= 0; i = s.indexOf("{{", i + 2)) n++;
  return n;
}

const tagsMessage = `At most ${LIMITS.tags.toLocaleString("en")} Handlebars tags per part`;
/** Tags within the cap; a part already over its size cap gets that one issue, not two. */
const tagsWithin = (max: number) => (s: string) => s.length > max || countTags(s) <= LIMITS.tags;
const subject = z.string().trim().min(1).max(LIMITS.subject);
const html = z
  .string()
  .min(1)
  .max(LIMITS.html, `At most ${LIMITS.html / 1024} KB (${LIMITS.html} characters) of HTML`)
  .refine(tagsWithin(LIMITS.html), tagsMessage);
const text = z
  .string()
  .min(1)
  .max(LIMITS.text, `At most ${LIMITS.text / 1024} KB (${LIMITS.text} characters) of text`)
  .refine(tagsWithin(LIMITS.text), tagsMessage);

const variant = z.strictObject({
  persona: personaKey,
  subject: subject.optional(),
  html: html.optional(),
  text: text.optional(),
});

const fields = {
  name: z.string().trim().min(1).max(200),
  subject,
  html,
  text: text.optional(),
  variants: z.array(variant).max(LIMITS.variants).optional(),
};

type Parts = { subject?: string; html?: string; text?: string; variants?: Array<{ subject?: string; html?: string; text?: string }> };

/** The version as a whole is bounded too; the issue names the part that crosses a limit. */
function totalSize(t: Parts, ctx: z.RefinementCtx) {
  const parts: Array<[string | undefined, Array<string | number>]> = [[t.subject, ["subject"]], [t.html, ["html"]], [t.text, ["text"]]];
  t.variants?.forEach((v, i) => {
    for (const name of ["subject", "html", "text"] as const) parts.push([v[name], ["variants", i, name]]);
  });
  let chars = 0;
  let tags = 0;
  for (const [src, path] of parts) {
    if (src === undefined) continue;
    chars += src.length;
    tags += countTags(src);
    if (chars > LIMITS.total) {
      ctx.addIssue({ code: "custom", path, message: `A template version may hold at most 1 MB (${LIMITS.total} characters) in all its parts together` });
      return;
    }
    if (tags > LIMITS.totalTags) {
      ctx.addIssue({ code: "custom", path, message: `A template version may hold at most ${LIMITS.totalTags.toLocaleString("en")} Handlebars tags in all its parts together` });
      return;
    }
  }
}

function uniquePersonas(t: { variants?: Array<{ persona: string }> }, ctx: z.RefinementCtx) {
  const seen = new Set<string>();
  t.variants?.forEach((v, i) => {
    if (seen.has(v.persona)) ctx.addIssue({ code: "custom", path: ["variants", i, "persona"], message: `A variant for '${v.persona}' is already given` });
    seen.add(v.persona);
  });
}

function checkVersion(t: Parts & { variants?: Array<{ persona: string }> }, ctx: z.RefinementCtx) {
  uniquePersonas(t, ctx);
  totalSize(t, ctx);
}

export const createTemplateSchema = z.strictObject({ key: templateKey, ...fields }).superRefine(checkVersion);
export type CreateTemplate = z.infer<typeof createTemplateSchema>;

/** A new version: the same fields; `name` defaults to the previous version's, `key` may repeat the path's. */
export const createVersionSchema = z
  .strictObject({ ...fields, key: templateKey.optional(), name: fields.name.optional() })
  .superRefine(checkVersion);
export type CreateVersion = z.infer<typeof createVersionSchema>;

export const versionParam = z.object({ key: templateKey, n: z.coerce.number().int().min(1).max(1_000_000) });

const attributes = z.record(z.string().max(200), z.unknown());

export const previewSchema = z
  .strictObject({
    customerId: z.string().uuid().optional(),
    // A hypothetical customer; its persona follows the rules as if it were saved.
    customer: z
      .strictObject({
        name: z.string().max(200).optional(),
        email: z.string().max(254).optional(),
        locale: z.string().max(35).optional(),
        timezone: z.string().max(64).optional(),
        attributes: attributes.optional(),
      })
      .optional(),
    // Render as this persona, whatever the customer's own persona is.
    persona: personaKey.optional(),
    data: attributes.optional(),
    version: z.number().int().min(1).optional(),
    kind: z.enum(["marketing", "transactional"]).optional(),
  })
  .refine((p) => !(p.customerId && p.customer), { path: ["customer"], message: "Give customerId or customer, not both" })
  .refine((p) => JSON.stringify(p.data ?? {}).length <= 256 * 1024, { path: ["data"], message: "data must serialise to at most 256 KB" });
export type PreviewInput = z.infer<typeof previewSchema>;
