// The claim and the outcome write find their rows by primary key whatever the statistics say about
// statuses (delivery.repository.ts, byIdNotByStatus). Their statistics lag: here they are taken
// while 4,000 messages are `sent`, then 2,000 become `queued` and 2,000 `sending`, all in one
// transaction that is rolled back (nothing reaches the other tests, nor the workers).
import { describe, expect, it } from "vitest";
import { pool } from "../src/platform/prisma.ts";
import { CLAIM_SQL, OUTCOME_SQL, outcomeParams } from "../src/modules/delivery/delivery.repository.ts";
import { createCustomer, createTemplate, createTopic } from "./support/fixtures.ts";
import { useHarness } from "./support/harness.ts";

const h = useHarness();

interface PlanNode {
  "Relation Name"?: string;
  "Index Name"?: string;
  "Node Type": string;
  "Plan Rows": number;
  Plans?: PlanNode[];
}

/** How the plan reads `messages`: the indexes of messages it scans (plain or bitmap), and "Seq Scan". */
function messageScans(node: PlanNode, out: string[] = []): string[] {
  if (node["Index Name"]?.startsWith("messages_")) out.push(node["Index Name"]);
  if (node["Relation Name"] === "messages" && node["Node Type"] === "Seq Scan") out.push("Seq Scan");
  for (const child of node.Plans ?? []) messageScans(child, out);
  return out;
}

describe("the claim and the outcome write under stale statistics", () => {
  it("when statistics saw no queued or sending message and thousands are, then both statements still go by primary key, custom and generic plans alike", async () => {
    const topic = await createTopic(h, "transactional", "Receipts");
    const tpl = await createTemplate(h, { subject: "Receipt", html: "<p>Thanks</p>" });
    const c = await createCustomer(h);
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const { rows: ids } = await client.query<{ id: string }>(
        `INSERT INTO messages (id, customer_id, topic_id, template_version_id, status, data, created_at, updated_at)
         SELECT gen_random_uuid(), $1::uuid, t.id, v.id, 'sent', '{}', now(), now()
           FROM generate_series(1, 4000) g, topics t, template_versions v JOIN templates tp ON tp.id = v.template_id
          WHERE t.key = $2 AND tp.key = $3
         RETURNING id`,
        [c.id, topic.key, tpl.key],
      );
      expect(ids).toHaveLength(4000);
      await client.query("ANALYZE messages");
      const queued = ids.slice(0, 2000).map((r) => r.id);
      const sending = ids.slice(2000).map((r) => r.id);
      await client.query("UPDATE messages SET status = 'queued' WHERE id = ANY($1::uuid[])", [queued]);
      const claims = (await client.query<{ id: string; claim: string }>(
        "UPDATE messages SET status = 'sending', claimed_at = now() WHERE id = ANY($1::uuid[]) RETURNING id, claimed_at::text AS claim", [sending])).rows;

      const plan = async (sql: string, values: unknown[]) =>
        ((await client.query(`EXPLAIN (FORMAT JSON) ${sql}`, values)).rows[0]["QUERY PLAN"][0].Plan as PlanNode);
      // Precondition: the statistics are stale, and a statement that lets the status index compete
      // takes it (the trap is armed in this set-up).
      const estimate = await plan("SELECT id FROM messages WHERE status = 'queued'", []);
      expect(estimate["Plan Rows"]).toBeLessThan(200);
      const claimWithIndexableStatus = CLAIM_SQL.replace("m.status::text = 'queued'", "m.status = 'queued'");
      expect(claimWithIndexableStatus).not.toBe(CLAIM_SQL);
      expect(messageScans(await plan(claimWithIndexableStatus, [queued.slice(0, 20)]))).toContain("messages_status_send_at_idx");

      // The parameters the writer itself builds, for 20 `sent` outcomes.
      const outcomeValues = (n: number) => outcomeParams(claims.slice(0, n).map((c) => ({ id: c.id, kind: "sent" as const, claim: c.claim, attempted: true })));
      // Custom plans: the parameters are known to the planner.
      expect(messageScans(await plan(CLAIM_SQL, [queued.slice(0, 20)]))).toEqual(["messages_pkey"]);
      expect(messageScans(await plan(OUTCOME_SQL, outcomeValues(20)))).toEqual(["messages_pkey"]);
      // Generic plans, as a named statement may get from its sixth execution on.
      await client.query("SET LOCAL plan_cache_mode = force_generic_plan");
      await client.query(`PREPARE plan_claim AS ${CLAIM_SQL}`);
      await client.query(`PREPARE plan_outcome AS ${OUTCOME_SQL}`);
      // EXECUTE takes no bound parameters inside EXPLAIN: array literals (uuids, words, numbers, dates).
      const args = (values: unknown[]) => (values as unknown[][]).map((a) => `'{${a.map((x) => (x === null ? "NULL" : `"${String(x)}"`)).join(",")}}'`).join(", ");
      expect(messageScans(await plan(`EXECUTE plan_claim(${args([queued.slice(0, 20)])})`, []))).toEqual(["messages_pkey"]);
      expect(messageScans(await plan(`EXECUTE plan_outcome(${args(outcomeValues(20))})`, []))).toEqual(["messages_pkey"]);
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
  });
});
