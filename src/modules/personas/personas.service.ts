// Personas: who the marketer writes for. Membership changes (a rule, a priority, a persona gone)
// are applied to every customer at once, in the transaction of the write (withPersonaWrite).
import type pg from "pg";
import type { Persona } from "../../generated/prisma/client.ts";
import { AppError, conflict, isUniqueViolation, notFound } from "../../platform/errors.ts";
import { decodeCursor, toPage } from "../../platform/pagination.ts";
import { db, pool } from "../../platform/prisma.ts";
import type { RenderPersona } from "../../templates/render.types.ts";
import { newId } from "../../platform/ids.ts";
import { deletePersonaLocked, withPersonaWrite } from "./persona-assignment.ts";
import { conditionToSql, SqlParams, type Condition } from "./condition.ts";
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

/** A personas row as pg returns it, as the Prisma model (so that every view is built one way). */
const toPersona = (r: Record<string, any>): Persona => ({
  id: r.id,
  key: r.key,
  name: r.name,
  description: r.description,
  story: r.story,
  goals: r.goals,
  concerns: r.concerns,
  interests: r.interests,
  rule: r.rule,
  priority: r.priority,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** JSONB parameter for a rule; null (no rule) is SQL NULL, as Prisma's DbNull wrote it. */
const ruleParam = (rule: unknown) => (rule == null ? null : JSON.stringify(rule));

// Writes go through withPersonaWrite: the row and the membership refresh commit together or not at all.

export async function createPersona(input: CreatePersona): Promise<PersonaView> {
  try {
    const p = await withPersonaWrite(async (c) => {
      const { rows } = await c.query(
        `INSERT INTO personas (id, key, name, description, story, goals, concerns, interests, rule, priority, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, now()) RETURNING *`,
        [newId(), input.key, input.name, input.description ?? null, input.story ?? null, input.goals ?? [], input.concerns ?? [],
          input.interests ?? [], ruleParam(input.rule), input.priority ?? 0],
      );
      return { result: toPersona(rows[0]), refresh: input.rule != null };
    });
    return personaView(p);
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`A persona with key '${input.key}' already exists`);
    throw err;
  }
}

export async function getPersona(key: string): Promise<PersonaView> {
  return personaView(await findPersonaByKey(key));
}

const COLUMNS = ["name", "description", "story", "goals", "concerns", "interests", "rule", "priority"] as const;

export async function updatePersona(key: string, input: UpdatePersona): Promise<PersonaView> {
  const set = COLUMNS.filter((col) => input[col] !== undefined);
  const values = set.map((col) => (col === "rule" ? ruleParam(input.rule) : input[col]));
  const assignments = set.map((col, i) => `${col} = $${i + 2}${col === "rule" ? "::jsonb" : ""}`);
  const p = await withPersonaWrite(async (c) => {
    // One statement: a row deleted while this one waits for its lock is simply not updated (404).
    // The exclusive lock keeps other persona writes out, so `old` is the row this one replaces.
    const { rows } = await c.query(
      `UPDATE personas p SET ${[...assignments, "updated_at = now()"].join(", ")}
         FROM (SELECT id, rule, priority FROM personas WHERE key = $1) old
        WHERE p.id = old.id
        RETURNING p.*, (p.rule IS DISTINCT FROM old.rule OR (p.priority <> old.priority AND p.rule IS NOT NULL)) AS membership_changed`,
      [key, ...values],
    );
    if (!rows[0]) throw notFound("Persona", key);
    return { result: toPersona(rows[0]), refresh: rows[0].membership_changed };
  });
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

/**
 * Live members per persona key (explicit, else rule): two index-only counts (erasure clears both
 * columns, so erased customers are never counted).
 */
export async function memberCounts(): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ key: string; n: number }>(
    `SELECT p.key, m.n::int AS n FROM (
       SELECT pid, sum(n) AS n FROM (
         SELECT persona_id AS pid, count(*) AS n FROM customers WHERE persona_id IS NOT NULL GROUP BY 1
         UNION ALL
         SELECT rule_persona_id, count(*) FROM customers WHERE rule_persona_id IS NOT NULL AND persona_id IS NULL GROUP BY 1
       ) x GROUP BY pid
     ) m JOIN personas p ON p.id = m.pid`,
  );
  return new Map(rows.map((r) => [r.key, r.n]));
}

/** Customers a draft rule would match (before priorities and explicit personas), by the same SQL compiler. */
export async function countMatching(rule: Condition): Promise<number> {
  const params = new SqlParams();
  const where = conditionToSql(rule, "c.attributes", params);
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM customers c WHERE c.erased_at IS NULL AND ${where}`, params.values);
  return rows[0].n;
}

/** Personas in the order rules are tried: highest priority first, ties by lowest key (code points). */
export async function personasByPriority(): Promise<PersonaView[]> {
  const rows = await db.persona.findMany({ take: 500 });
  const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return rows.sort((a, b) => b.priority - a.priority || byCodePoint(a.key, b.key)).map(personaView);
}

/**
 * Moves a persona one place up or down in that order, touching at most two rows: with a neighbour of
 * another priority the two swap priorities; with an equal one (the tie went by key) the persona's
 * own priority moves by one past it. Read and written under the persona lock, with the refresh.
 */
export async function movePersona(key: string, direction: "up" | "down"): Promise<void> {
  await withPersonaWrite(async (c) => {
    const { rows: order } = await c.query<{ key: string; priority: number }>(`SELECT key, priority FROM personas ORDER BY priority DESC, key COLLATE "C" ASC`);
    const i = order.findIndex((p) => p.key === key);
    if (i < 0) throw notFound("Persona", key);
    const neighbour = order[direction === "up" ? i - 1 : i + 1];
    if (!neighbour) return { result: undefined, refresh: false };
    const me = order[i];
    const updates =
      me.priority !== neighbour.priority
        ? [[me.key, neighbour.priority], [neighbour.key, me.priority]]
        : [[me.key, me.priority + (direction === "up" ? 1 : -1)]];
    for (const u of updates) await c.query("UPDATE personas SET priority = $2, updated_at = now() WHERE key = $1", u);
    return { result: undefined, refresh: true };
  });
}
