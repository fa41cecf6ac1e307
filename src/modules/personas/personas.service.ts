// Personas: who the marketer writes for. Membership changes (a rule, a priority, a persona gone)
// are applied to every customer at once by refreshAllRulePersonas before the request returns.
import type pg from "pg";
import { Prisma, type Persona } from "../../generated/prisma/client.ts";
import { AppError, conflict, isUniqueViolation, notFound } from "../../platform/errors.ts";
import { decodeCursor, toPage } from "../../platform/pagination.ts";
import { db } from "../../platform/prisma.ts";
import type { RenderPersona } from "../../templates/render.types.ts";
import { deletePersonaLocked, refreshAllRulePersonas } from "./persona-assignment.ts";
import type { CreatePersona, UpdatePersona } from "./personas.schema.ts";

/** The persona as templates see it (no ids, rule or bookkeeping). */
export const renderPersona = (p: Persona): RenderPersona => ({
  key: p.key,
  name: p.name,
  description: p.description,
  story: p.story,
  goals: p.goals,
  concerns: p.concerns,
  interests: p.interests,
});

export const personaView = (p: Persona) => ({
  id: p.id,
  ...renderPersona(p),
  rule: p.rule ?? null,
  priority: p.priority,
  createdAt: p.createdAt.toISOString(),
  updatedAt: p.updatedAt.toISOString(),
});
export type PersonaView = ReturnType<typeof personaView>;

export async function findPersonaByKey(key: string): Promise<Persona> {
  const p = await db.persona.findUnique({ where: { key } });
  if (!p) throw notFound("Persona", key);
  return p;
}

export async function createPersona(input: CreatePersona): Promise<PersonaView> {
  try {
    const p = await db.persona.create({
      data: {
        key: input.key,
        name: input.name,
        description: input.description ?? null,
        story: input.story ?? null,
        goals: input.goals ?? [],
        concerns: input.concerns ?? [],
        interests: input.interests ?? [],
        rule: input.rule ? (input.rule as Prisma.InputJsonValue) : Prisma.DbNull,
        priority: input.priority ?? 0,
      },
    });
    if (p.rule) await refreshAllRulePersonas();
    return personaView(p);
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`A persona with key '${input.key}' already exists`);
    throw err;
  }
}

export async function getPersona(key: string): Promise<PersonaView> {
  return personaView(await findPersonaByKey(key));
}

/** Prisma's "record to update or delete not found" (P2025): the row went between read and write. */
const isRecordNotFound = (err: unknown) => (err as { code?: string })?.code === "P2025";

export async function updatePersona(key: string, input: UpdatePersona): Promise<PersonaView> {
  const before = await findPersonaByKey(key);
  const { rule, ...rest } = input;
  let p: Persona;
  try {
    p = await db.persona.update({
      where: { id: before.id },
      data: {
        ...rest,
        ...(rule === undefined ? {} : { rule: rule === null ? Prisma.DbNull : (rule as Prisma.InputJsonValue) }),
      },
    });
  } catch (err) {
    // Deleted after we read it: for the client, as if it had been deleted just before.
    if (isRecordNotFound(err)) throw notFound("Persona", key);
    throw err;
  }
  const ruleChanged = rule !== undefined && JSON.stringify(rule) !== JSON.stringify(before.rule);
  const priorityMatters = p.priority !== before.priority && p.rule !== null;
  if (ruleChanged || priorityMatters) await refreshAllRulePersonas();
  return personaView(p);
}

const LISTED = 20;

/**
 * Templates whose latest version has a variant for this persona. Older versions may name it too:
 * they are history (and what pinned messages or campaigns render), and would make a persona that
 * was ever written for impossible to delete.
 */
async function templatesWritingFor(c: pg.PoolClient, key: string): Promise<string[]> {
  const { rows } = await c.query<{ key: string }>(
    `SELECT t.key FROM templates t
       CROSS JOIN LATERAL (SELECT v.variants FROM template_versions v WHERE v.template_id = t.id ORDER BY v.version DESC LIMIT 1) latest
      WHERE latest.variants @> jsonb_build_array(jsonb_build_object('persona', $1::text))
      ORDER BY t.key COLLATE "C" LIMIT ${LISTED + 1}`,
    [key],
  );
  return rows.map((r) => r.key);
}

/**
 * Explicit members lose their persona (ON DELETE SET NULL); rule members are re-assigned.
 *
 * Refused (409) while the latest version of a template has a variant for it: variants name personas
 * by key, so they would silently apply to any later persona created with the same key. The check
 * runs on the locked row, and saving a template version key-share locks the personas it names
 * (templates.service.ts), so a version saved concurrently is either seen here or refused there.
 */
export async function deletePersona(key: string): Promise<void> {
  const deleted = await deletePersonaLocked(key, async (c) => {
    const templates = await templatesWritingFor(c, key);
    if (!templates.length) return;
    const shown = templates.slice(0, LISTED).map((t) => `'${t}'`).join(", ");
    const more = templates.length > LISTED ? " and more" : "";
    throw new AppError(
      "conflict",
      `Persona '${key}' is still written for by the latest version of ${shown}${more}: save versions without its variant first`,
      { extra: { templates: templates.slice(0, LISTED) } },
    );
  });
  if (!deleted) throw notFound("Persona", key);
  if (deleted.hadRule) await refreshAllRulePersonas();
}

export async function listPersonas(limit: number, cursor?: string) {
  const after = decodeCursor(cursor);
  const rows = await db.persona.findMany({
    where: after ? { id: { gt: after } } : undefined,
    orderBy: { id: "asc" },
    take: limit + 1,
  });
  return toPage(rows, limit, personaView);
}
