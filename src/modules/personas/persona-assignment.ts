// Rule personas are maintained in customers.rule_persona_id by set-based SQL: the rules of all
// personas become one CASE expression (highest priority first, ties by lowest key), evaluated by
// PostgreSQL over the JSONB attributes of a whole page of customers in one UPDATE.
//
// Consistency: every refresh reads the rules and updates inside one transaction holding an advisory
// lock: shared for refreshes of given customers (they may run side by side), exclusive for every
// persona write together with the full refresh it calls for (withPersonaWrite). A customer refresh therefore never
// writes a result computed from rules older than a full refresh that already finished, and never
// writes the id of a persona deleted meanwhile.
import type pg from "pg";
import type { RenderPersona } from "../../templates/render.types.ts";
import { isUuid } from "../../platform/ids.ts";
import { pool } from "../../platform/prisma.ts";
import { withTransaction } from "../../platform/sql.ts";
import { conditionSchema, conditionToSql, evaluate, SqlParams, type Condition } from "./condition.ts";

const LOCK_KEY = 0x7065_7273; // "pers"
const PAGE = 5000;
const FULL_PAGE = 50_000;

interface RulePersona {
  id: string;
  key: string;
  rule: Condition;
}

/** Personas with a rule, in the order they are tried. */
async function loadRules(c: pg.PoolClient | pg.Pool): Promise<RulePersona[]> {
  const { rows } = await c.query<{ id: string; key: string; rule: unknown }>(
    `SELECT id, key, rule FROM personas WHERE rule IS NOT NULL AND rule <> 'null'::jsonb ORDER BY priority DESC, key COLLATE "C" ASC`,
  );
  // Rules were validated on save; a row that no longer parses (edited by hand) is skipped, not fatal.
  return rows.flatMap((r) => {
    const p = conditionSchema.safeParse(r.rule);
    return p.success ? [{ id: r.id, key: r.key, rule: p.data }] : [];
  });
}

/** CASE expression giving the rule persona id for the JSONB expression `column`. */
function assignmentSql(rules: RulePersona[], column: string, params: SqlParams): string {
  if (!rules.length) return "NULL::uuid";
  const whens = rules.map((r) => `WHEN ${conditionToSql(r.rule, column, params)} THEN ${params.add(r.id, "uuid")}`);
  return `CASE ${whens.join(" ")} ELSE NULL::uuid END`;
}

/**
 * Recomputes rule_persona_id for these customers: one UPDATE per page of up to 5000 ids.
 *
 * With `client`, it runs inside the caller's open transaction on that client (the shared lock is
 * held until the caller commits), so the refresh commits or rolls back with the writes it follows.
 * There the lock is taken even for an empty list: a transaction that is about to write customers
 * calls it with [] first, so it takes the lock before any customer row lock, the order the full
 * refresh and persona deletion follow (the other order can deadlock against them).
 */
export async function refreshRulePersonas(customerIds: string[], client?: pg.PoolClient): Promise<void> {
  const ids = [...new Set(customerIds)].filter(isUuid);
  if (client) return refreshOn(client, ids);
  if (!ids.length) return;
  await withTransaction((c) => refreshOn(c, ids));
}

async function refreshOn(c: pg.PoolClient, ids: string[]): Promise<void> {
  await c.query("SELECT pg_advisory_xact_lock_shared($1)", [LOCK_KEY]);
  if (!ids.length) return;
  const rules = await loadRules(c);
  for (let i = 0; i < ids.length; i += PAGE) {
    const params = new SqlParams();
    const page = params.add(ids.slice(i, i + PAGE), "uuid[]");
    const pick = assignmentSql(rules, "s.attributes", params);
    await c.query(
      `UPDATE customers c SET rule_persona_id = x.pid
         FROM (SELECT s.id, ${pick} AS pid FROM customers s WHERE s.id = ANY(${page}) AND s.erased_at IS NULL) x
        WHERE c.id = x.id AND c.rule_persona_id IS DISTINCT FROM x.pid`,
      params.values,
    );
  }
}

/**
 * Recomputes rule_persona_id for every customer (after a persona's rule or priority changed, or a
 * persona was created or deleted): keyset pages of 50,000 rows, each one statement, all in one
 * transaction under the exclusive lock.
 */
export async function refreshAllRulePersonas(): Promise<void> {
  await withPersonaWrite(async () => ({ result: undefined, refresh: true }));
}

/**
 * Runs a persona write and the full refresh it calls for as one transaction under the exclusive
 * lock: a write commits only with its membership refresh, so a rule that cannot be evaluated (the
 * refresh fails) is never saved; saved, it would fail every later customer write. The lock is held
 * for the whole refresh, so customer writes wait for it (they take the shared lock).
 */
export async function withPersonaWrite<T>(write: (c: pg.PoolClient) => Promise<{ result: T; refresh: boolean }>): Promise<T> {
  return withTransaction(async (c) => {
    await c.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
    const { result, refresh } = await write(c);
    if (refresh) await refreshAllOn(c);
    return result;
  });
}

async function refreshAllOn(c: pg.PoolClient): Promise<void> {
  const rules = await loadRules(c);
  let after = "00000000-0000-0000-0000-000000000000";
  for (;;) {
    const params = new SqlParams();
    const from = params.add(after, "uuid");
    const pick = assignmentSql(rules, "page.attributes", params);
    const { rows } = await c.query<{ last_id: string | null }>(
      `WITH page AS (
         SELECT id, attributes FROM customers WHERE id > ${from} AND erased_at IS NULL ORDER BY id LIMIT ${FULL_PAGE}
       ), calc AS (
         SELECT page.id, ${pick} AS pid FROM page
       ), upd AS (
         UPDATE customers c SET rule_persona_id = calc.pid FROM calc
          WHERE c.id = calc.id AND c.rule_persona_id IS DISTINCT FROM calc.pid RETURNING c.id
       )
       SELECT (SELECT id FROM page ORDER BY id DESC LIMIT 1) AS last_id, (SELECT count(*) FROM upd) AS changed`,
      params.values,
    );
    const last = rows[0]?.last_id;
    if (!last) return;
    after = last;
  }
}

/**
 * Deletes a persona under the exclusive lock, so that no refresh holding its id (read with the
 * rules, not yet written) can write it after the row is gone. The foreign keys then clear it from
 * customers (ON DELETE SET NULL) and, when it had a rule, its members are re-assigned in the same
 * transaction. `guard` runs on the locked row before the delete, and may throw to refuse it.
 * Returns false when there was no such persona (never there, or deleted meanwhile).
 */
export async function deletePersonaLocked(key: string, guard?: (c: pg.PoolClient, personaId: string) => Promise<void>): Promise<boolean> {
  return withPersonaWrite(async (c) => {
    const { rows } = await c.query<{ id: string; has_rule: boolean }>(
      `SELECT id, rule IS NOT NULL AND rule <> 'null'::jsonb AS has_rule FROM personas WHERE key = $1 FOR UPDATE`,
      [key],
    );
    if (!rows[0]) return { result: false, refresh: false };
    await guard?.(c, rows[0].id);
    await c.query("DELETE FROM personas WHERE id = $1", [rows[0].id]);
    return { result: true, refresh: rows[0].has_rule };
  });
}

export type PersonaSource = "explicit" | "rule";
export interface ResolvedPersona {
  persona: RenderPersona | null;
  source: PersonaSource | null;
}

/** Each customer's persona (explicit, else rule, else none) in one query per 5000 ids. */
export async function personasForCustomers(customerIds: string[]): Promise<Map<string, ResolvedPersona>> {
  const ids = [...new Set(customerIds)].filter(isUuid);
  const out = new Map<string, ResolvedPersona>();
  for (let i = 0; i < ids.length; i += PAGE) {
    const { rows } = await pool.query(
      `SELECT c.id, c.persona_id IS NOT NULL AS explicit, p.key, p.name, p.description, p.story, p.goals, p.concerns, p.interests
         FROM customers c LEFT JOIN personas p ON p.id = COALESCE(c.persona_id, c.rule_persona_id)
        WHERE c.id = ANY($1::uuid[])`,
      [ids.slice(i, i + PAGE)],
    );
    for (const r of rows) {
      const persona: RenderPersona | null = r.key
        ? { key: r.key, name: r.name, description: r.description, story: r.story, goals: r.goals, concerns: r.concerns, interests: r.interests }
        : null;
      out.set(r.id, { persona, source: persona ? (r.explicit ? "explicit" : "rule") : null });
    }
  }
  return out;
}

/** The rule persona key a customer with these attributes would get (preview of a hypothetical customer). */
export async function rulePersonaKeyFor(attributes: Record<string, unknown>): Promise<string | null> {
  const rules = await loadRules(pool);
  return rules.find((r) => evaluate(r.rule, attributes))?.key ?? null;
}
