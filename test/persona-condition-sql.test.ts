// The SQL compiler against the same case table as the JavaScript evaluator, on real PostgreSQL.
import { afterAll, describe, expect, it } from "vitest";
import { conditionCases } from "../src/modules/personas/condition.cases.ts";
import { conditionToSql, evaluate, SqlParams } from "../src/modules/personas/condition.ts";
import { closeDb, pool } from "../src/platform/prisma.ts";

afterAll(() => closeDb());

async function sqlMatches(rule: (typeof conditionCases)[number]["rule"], attributes: unknown): Promise<boolean> {
  const params = new SqlParams();
  const attrs = params.add(JSON.stringify(attributes), "jsonb");
  const expr = conditionToSql(rule, "x.attributes", params);
  const { rows } = await pool.query(`SELECT ${expr} AS m FROM (SELECT ${attrs} AS attributes) x`, params.values);
  return rows[0].m;
}

describe("condition SQL agrees with the JavaScript evaluator", () => {
  for (const tc of conditionCases) {
    it(`when ${tc.name}, then SQL says ${tc.expected} like JavaScript`, async () => {
      const sql = await sqlMatches(tc.rule, tc.attributes);
      expect(sql).toBe(tc.expected);
      expect(sql).toBe(evaluate(tc.rule, tc.attributes));
    });
  }

  it("when attributes hold invalid or odd dates and numbers, then SQL never raises and agrees", async () => {
    const odd = [
      { d: "2023-02-29" }, { d: "2024-02-29" }, { d: "2024-02-30T10:00:00Z" }, { d: "9999-12-31T23:59:59.999Z" },
      { d: "0000-01-01" }, { d: "2024-01-01T24:00:00Z" }, { d: "2024-01-01T10:00:00+15:00" }, { d: "not a date" },
      { d: 12 }, { d: null }, { d: [1] }, { d: { x: 1 } }, { d: 1e300 }, { d: -0.000001 }, { d: "" },
    ];
    const rules = [
      { attr: "d", op: "gt", value: "2000-01-01" }, { attr: "d", op: "eq", value: "2024-02-29" },
      { attr: "d", op: "lt", value: 5 }, { attr: "d", op: "gte", value: "" }, { attr: "d", op: "contains", value: "" },
      { attr: "d", op: "in", value: [1, "2024-02-29"] }, { not: { attr: "d", op: "neq", value: 12 } },
    ] as const;
    for (const attributes of odd) for (const rule of rules) {
      expect(await sqlMatches(rule as never, attributes), JSON.stringify({ attributes, rule })).toBe(evaluate(rule as never, attributes));
    }
  });
});
