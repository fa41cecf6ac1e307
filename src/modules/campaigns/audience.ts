// Who a campaign targets, as SQL over customers (alias c) joined with their effective persona
// (alias p): members of the given personas and/or customers matching the rule (both: both), never
// erased, and, with excludeRecentHours, nobody sent another campaign's message in that time.
// The fan-out walks it in keyset pages bounded by the highest customer id at schedule time; the
// preview counts it per persona with the consent rules of ../consent/eligibility.ts.
import { pool } from "../../platform/prisma.ts";
import { eligibilityJoin, eligibleSql, type TopicRef } from "../consent/eligibility.ts";
import { conditionToSql, SqlParams } from "../personas/condition.ts";
import type { Audience } from "./campaigns.schema.ts";

function where(a: Audience, params: SqlParams, campaignId: string | null): string {
  const parts = ["c.erased_at IS NULL"];
  if (a.personas) parts.push(`p.key = ANY(${params.add(a.personas, "text[]")})`);
  if (a.rule) parts.push(conditionToSql(a.rule, "c.attributes", params));
  if (a.excludeRecentHours) {
    const since = `now() - make_interval(hours => ${params.add(a.excludeRecentHours, "int")})`;
    parts.push(`NOT EXISTS (SELECT 1 FROM messages r WHERE r.customer_id = c.id AND r.created_at > ${since}
      AND r.campaign_id IS NOT NULL ${campaignId ? `AND r.campaign_id <> ${params.add(campaignId, "uuid")}` : ""}
      AND r.status = 'sent' AND r.sent_at > ${since})`);
  }
  return parts.join(" AND ");
}

const from = "customers c LEFT JOIN personas p ON p.id = COALESCE(c.persona_id, c.rule_persona_id)";

export interface AudienceMember {
  id: string;
  persona: string | null;
  timezone: string | null;
}

/**
 * One keyset page: up to `limit` members with ids in (after, max], in id order, found among the next
 * `scan` customers by id; `next`: where the following page starts (null: the walk is done). The customers are read by the primary key in order before the audience filter: filtering
 * first let the planner sort every remaining customer for each page (a sequential scan per page, 70 ms
 * per page at 100,000 customers, quadratic in the audience).
 */
export async function audiencePage(
  a: Audience, campaignId: string, range: { after: string; max: string }, limit: number, scan: number,
): Promise<{ members: AudienceMember[]; next: string | null }> {
  const params = new SqlParams();
  const ids = `id > ${params.add(range.after, "uuid")} AND id <= ${params.add(range.max, "uuid")}`;
  const w = where(a, params, campaignId);
  const { rows } = await pool.query<AudienceMember & { scanned: string | null }>(
    `WITH c AS MATERIALIZED (SELECT id, persona_id, rule_persona_id, timezone, erased_at, attributes FROM customers
                              WHERE ${ids} ORDER BY id LIMIT ${params.add(scan, "int")}),
          hit AS (SELECT c.id, p.key AS persona, c.timezone FROM c LEFT JOIN personas p ON p.id = COALESCE(c.persona_id, c.rule_persona_id)
                   WHERE ${w} ORDER BY c.id LIMIT ${params.add(limit, "int")})
     SELECT (SELECT id FROM c ORDER BY id DESC LIMIT 1) AS scanned, hit.* FROM (SELECT 1) one LEFT JOIN hit ON true ORDER BY hit.id`,
    params.values,
  );
  const members = rows.filter((r) => r.id !== null).map(({ id, persona, timezone }) => ({ id, persona, timezone }));
  // A full page may have left members in the scanned range: the next page starts after the last one.
  const next = members.length === limit ? members[limit - 1].id : rows[0]?.scanned ?? null;
  return { members, next };
}

/** The highest customer id now: the fan-out never goes past it (people created later stay out). */
export async function highestCustomerId(): Promise<string | null> {
  const { rows } = await pool.query<{ id: string }>("SELECT id FROM customers ORDER BY id DESC LIMIT 1");
  return rows[0]?.id ?? null;
}

export async function audiencePreview(a: Audience, topic: TopicRef, campaignId: string | null) {
  const params = new SqlParams();
  const w = where(a, params, campaignId);
  const topicId = params.add(topic.id, "uuid");
  const counts = await pool.query<{ persona: string | null; total: number; consenting: number }>(
    `SELECT p.key AS persona, count(*)::int AS total, count(*) FILTER (WHERE ${eligibleSql("c", topic.kind)})::int AS consenting
       FROM ${from} ${eligibilityJoin("c", topicId)}
      WHERE ${w} GROUP BY p.key ORDER BY p.key NULLS LAST`,
    params.values,
  );
  const p2 = new SqlParams();
  const sample = await pool.query<{ id: string; persona: string | null; timezone: string | null; locale: string | null }>(
    `SELECT c.id, p.key AS persona, c.timezone, c.locale FROM ${from} WHERE ${where(a, p2, campaignId)} ORDER BY c.id LIMIT 20`,
    p2.values,
  );
  const byPersona = counts.rows;
  return {
    total: byPersona.reduce((s, r) => s + r.total, 0),
    consenting: byPersona.reduce((s, r) => s + r.consenting, 0),
    byPersona,
    sample: sample.rows,
  };
}
