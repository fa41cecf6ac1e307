// Templates and their immutable, numbered versions. Every version is compiled and linted before it
// is saved: a template that does not compile is refused (422) and nothing is written.
//
// Order of work: the request body is bounded by its zod schema (sizes, templates.schema.ts) before
// anything here runs; the preparation (compile, lint, CSS inlining) runs next, in the template
// worker pool with a time budget, outside any transaction; the write is last, in a short
// transaction that also checks the variants' personas. What was prepared is kept for the new
// version's id, so its first preview or send does not prepare it again.
import type { Prisma, Template, TemplateVersion } from "../../generated/prisma/client.ts";
import { AppError, conflict, isUniqueViolation, notFound } from "../../platform/errors.ts";
import { decodeCursor, toPage } from "../../platform/pagination.ts";
import { db, type Tx } from "../../platform/prisma.ts";
import type { RenderTemplateVersion } from "../../templates/render.types.ts";
import { prepareParts, rememberPrepared } from "../../templates/compiled.ts";
import type { LintIssue } from "../../templates/validate.ts";
import type { CreateTemplate, CreateVersion } from "./templates.schema.ts";

type Variant = RenderTemplateVersion["variants"][number];

export function versionView(key: string, v: TemplateVersion, warnings?: LintIssue[]) {
  return {
    key,
    version: v.version,
    versionId: v.id,
    name: v.name,
    subject: v.subject,
    html: v.html,
    text: v.text,
    variants: v.variants as unknown as Variant[],
    createdAt: v.createdAt.toISOString(),
    ...(warnings ? { warnings } : {}),
  };
}

/** The shape renderMessage takes. */
export const toRenderTemplate = (key: string, v: TemplateVersion): RenderTemplateVersion => ({
  id: v.id,
  key,
  version: v.version,
  subject: v.subject,
  html: v.html,
  text: v.text,
  variants: v.variants as unknown as Variant[],
});

/**
 * Variants name personas by key; each must exist when the version is saved. Runs in the saving
 * transaction and key-share locks the personas' rows until it commits, so a persona deletion
 * (personas.service.ts, which refuses while a latest version names the persona) either waits and
 * then sees this version, or has committed and the persona is reported missing here.
 */
async function lockPersonas(tx: Tx, variants: Variant[]): Promise<void> {
  if (!variants.length) return;
  const keys = variants.map((v) => v.persona);
  const found = await tx.$queryRaw<Array<{ key: string }>>`SELECT key FROM personas WHERE key = ANY(${keys}::text[]) FOR KEY SHARE`;
  const known = new Set(found.map((p) => p.key));
  const errors = variants.flatMap((v, i) => (known.has(v.persona) ? [] : [{ path: `variants.${i}.persona`, message: `Persona '${v.persona}' does not exist` }]));
  if (errors.length) throw new AppError("unprocessable", errors.map((e) => e.message).join("; "), { errors });
}

function content(input: { subject: string; html: string; text?: string; variants?: Variant[] }) {
  return { subject: input.subject, html: input.html, text: input.text ?? null, variants: input.variants ?? [] };
}

export async function createTemplate(input: CreateTemplate) {
  const parts = content(input);
  const prepared = await prepareParts(parts);
  try {
    const v = await db.$transaction(async (tx) => {
      await lockPersonas(tx, parts.variants);
      const t = await tx.template.create({ data: { key: input.key } });
      return tx.templateVersion.create({ data: { templateId: t.id, version: 1, name: input.name, ...parts, variants: parts.variants as Prisma.InputJsonValue } });
    });
    rememberPrepared(v.id, prepared);
    return versionView(input.key, v, prepared.warnings);
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`A template with key '${input.key}' already exists`);
    throw err;
  }
}

export async function findTemplate(key: string): Promise<Template> {
  const t = await db.template.findUnique({ where: { key } });
  if (!t) throw notFound("Template", key);
  return t;
}

async function latest(templateId: string, tx: Tx = db): Promise<TemplateVersion | null> {
  return tx.templateVersion.findFirst({ where: { templateId }, orderBy: { version: "desc" } });
}

export async function createVersion(key: string, input: CreateVersion) {
  if (input.key !== undefined && input.key !== key) {
    throw new AppError("validation", "The body's key differs from the path's", { errors: [{ path: "key", message: `Expected '${key}'` }] });
  }
  const t = await findTemplate(key);
  const parts = content(input);
  const prepared = await prepareParts(parts);
  // Two concurrent saves may pick the same number; the unique (template, version) index makes one
  // fail, and it simply takes the next number.
  for (let attempt = 0; ; attempt++) {
    try {
      const v = await db.$transaction(async (tx) => {
        await lockPersonas(tx, parts.variants);
        const prev = await latest(t.id, tx);
        return tx.templateVersion.create({
          data: {
            templateId: t.id,
            version: (prev?.version ?? 0) + 1,
            name: input.name ?? prev?.name ?? key,
            ...parts,
            variants: parts.variants as Prisma.InputJsonValue,
          },
        });
      });
      rememberPrepared(v.id, prepared);
      return versionView(key, v, prepared.warnings);
    } catch (err) {
      if (!isUniqueViolation(err) || attempt >= 5) throw err;
    }
  }
}

/** The version to render: the given number, else the latest. 404 when either does not exist. */
export async function findVersion(key: string, version?: number): Promise<TemplateVersion> {
  const t = await findTemplate(key);
  const v = version === undefined ? await latest(t.id) : await db.templateVersion.findUnique({ where: { templateId_version: { templateId: t.id, version } } });
  if (!v) throw notFound("Template version", `${key}@${version ?? "latest"}`);
  return v;
}

export async function getTemplate(key: string, version?: number) {
  return versionView(key, await findVersion(key, version));
}

/** Templates with their latest version's name and number. */
export async function listTemplates(limit: number, cursor?: string) {
  const after = decodeCursor(cursor);
  const rows = await db.template.findMany({
    where: after ? { id: { gt: after } } : undefined,
    orderBy: { id: "asc" },
    take: limit + 1,
    include: { versions: { orderBy: { version: "desc" }, take: 1, select: { version: true, name: true, createdAt: true } } },
  });
  return toPage(rows, limit, (t) => ({
    key: t.key,
    name: t.versions[0]?.name ?? t.key,
    version: t.versions[0]?.version ?? 0,
    createdAt: t.createdAt.toISOString(),
    updatedAt: (t.versions[0]?.createdAt ?? t.createdAt).toISOString(),
  }));
}

export async function listVersions(key: string, limit: number, cursor?: string) {
  const t = await findTemplate(key);
  const after = decodeCursor(cursor);
  const rows = await db.templateVersion.findMany({
    where: { templateId: t.id, ...(after ? { id: { gt: after } } : {}) },
    orderBy: { id: "asc" },
    take: limit + 1,
  });
  return toPage(rows, limit, (v) => versionView(key, v));
}

/** Prepares (compiles, lints) a draft as saving would, without saving it: TemplateCompileError names part, line, column. */
export async function checkDraft(input: { subject: string; html: string; text?: string; variants?: Variant[] }): Promise<{ warnings: LintIssue[] }> {
  return { warnings: (await prepareParts(content(input))).warnings };
}
