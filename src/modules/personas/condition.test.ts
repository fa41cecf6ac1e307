import { describe, expect, it } from "vitest";
import { conditionCases } from "./condition.cases.ts";
import { conditionSchema, conditionToSql, evaluate, SqlParams, type Condition } from "./condition.ts";
import { parseIsoDate } from "./iso-date.ts";
import { createPersonaSchema } from "./personas.schema.ts";

const errorsOf = (rule: unknown) => {
  const r = createPersonaSchema.safeParse({ key: "k", name: "K", rule });
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("condition evaluator (JavaScript)", () => {
  for (const tc of conditionCases) {
    it(`when ${tc.name}, then ${tc.expected}`, () => {
      expect(conditionSchema.safeParse(tc.rule).success).toBe(true);
      expect(evaluate(tc.rule, tc.attributes)).toBe(tc.expected);
    });
  }
});

describe("condition schema", () => {
  it("when an op is unknown deep in the tree, then the error path points at it", () => {
    expect(errorsOf({ all: [{ attr: "a", op: "eq", value: 1 }, { attr: "b", op: "like", value: "x" }] })[0]).toMatch(/^rule\.all\.1\.op: /);
  });

  it("when a leaf misses its op or has a wrong value, then the path names that field", () => {
    expect(errorsOf({ any: [{ attr: "a" }] })).toEqual([expect.stringMatching(/^rule\.any\.0\.op: /)]);
    expect(errorsOf({ not: { attr: "a", op: "in", value: "x" } })).toEqual([expect.stringMatching(/^rule\.not\.value: /)]);
    expect(errorsOf({ attr: "a", op: "exists", value: 1 })).toEqual([expect.stringMatching(/^rule\.value: /)]);
    expect(errorsOf({ attr: "a", op: "gt", value: true })).toEqual([expect.stringMatching(/^rule\.value: /)]);
    expect(errorsOf({ attr: "a", op: "eq" })).toEqual([expect.stringMatching(/^rule\.value: /)]);
  });

  it("when a node mixes forms, has unknown keys or an unsafe path, then it is refused", () => {
    expect(errorsOf({ all: [{ attr: "a", op: "exists" }], attr: "b", op: "exists" }).length).toBeGreaterThan(0);
    expect(errorsOf({ all: [{ attr: "a", op: "exists", extra: 1 }] })[0]).toMatch(/^rule\.all\.0: /);
    expect(errorsOf({ all: [] })[0]).toMatch(/^rule\.all: /);
    for (const attr of ["a'b", "a..b", ".a", "a.", "a b", "a;--", "-1", "a.{b}", "a,b", ""]) {
      expect(errorsOf({ attr, op: "exists" })[0], attr).toMatch(/^rule\.attr: /);
    }
  });

  it("when a rule compares with a date outside years 1-9999 UTC, then the path names that value", () => {
    for (const value of ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999-00:01", "0001-01-01T00:00:00.000+00:01"]) {
      for (const op of ["eq", "neq", "gt", "gte", "lt", "lte"]) {
        expect(errorsOf({ attr: "a", op, value }), `${op} ${value}`).toEqual([expect.stringMatching(/^rule\.value: Dates in rules lie between/)]);
      }
      expect(errorsOf({ all: [{ attr: "a", op: "exists" }, { not: { attr: "a", op: "gt", value } }] })).toEqual([expect.stringMatching(/^rule\.all\.1\.not\.value: /)]);
      // Only comparisons read dates: a substring or list member is plain text.
      expect(errorsOf({ attr: "a", op: "contains", value })).toEqual([]);
      expect(errorsOf({ attr: "a", op: "in", value: [value] })).toEqual([]);
    }
    for (const value of ["9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59+00:00", "9999-12-31T09:59:59+14:00", "0001-01-01", "0001-01-01T00:00:00-14:00"]) {
      expect(errorsOf({ attr: "a", op: "gt", value }), value).toEqual([]);
    }
  });

  it("when a rule is nested too deep or is too large, then it is refused before being walked", () => {
    let deep: unknown = { attr: "a", op: "exists" };
    for (let i = 0; i < 5000; i++) deep = { not: deep };
    expect(errorsOf(deep)[0]).toMatch(/nests at most/);
    const wide = { any: Array.from({ length: 100 }, () => ({ all: [{ attr: "a", op: "exists" }, { attr: "b", op: "exists" }] })) };
    expect(errorsOf(wide)[0]).toMatch(/at most 200/);
  });
});

describe("condition to SQL", () => {
  it("when a rule carries hostile strings, then they only ever appear as bound parameters", () => {
    const hostile = "x'); DROP TABLE customers; --";
    const rule: Condition = { any: [{ attr: "a", op: "eq", value: hostile }, { attr: "b", op: "contains", value: hostile }, { attr: "c", op: "in", value: [hostile] }] };
    const params = new SqlParams();
    const sql = conditionToSql(rule, "c.attributes", params);
    expect(sql).not.toContain("DROP");
    expect(params.values.some((v) => String(v).includes("DROP"))).toBe(true);
    expect(params.values).toContainEqual(["a"]);
  });

  it("when a leaf is compiled, then it cannot be NULL (so NOT behaves like JavaScript)", () => {
    const params = new SqlParams();
    expect(conditionToSql({ attr: "a", op: "gt", value: 1 }, "x", params)).toMatch(/^COALESCE\(/);
  });
});

describe("ISO dates", () => {
  it("when strings are or are not dates in the accepted form, then they parse accordingly", () => {
    expect(parseIsoDate("2024-02-29")).toBe(Date.UTC(2024, 1, 29));
    expect(parseIsoDate("2023-02-29")).toBeNull();
    expect(parseIsoDate("2024-04-31")).toBeNull();
    expect(parseIsoDate("2024-01-01T10:00:00")).toBeNull(); // no offset: ambiguous
    expect(parseIsoDate("2024-01-01T10:00Z")).toBe(Date.UTC(2024, 0, 1, 10));
    expect(parseIsoDate("2024-01-01T10:00:00.5+01:30")).toBe(Date.UTC(2024, 0, 1, 8, 30, 0, 500));
    expect(parseIsoDate("0050-06-01")).toBe(new Date("0050-06-01T00:00:00Z").getTime());
    expect(parseIsoDate("0000-01-01")).toBeNull();
    expect(parseIsoDate("2024-13-01")).toBeNull();
    expect(parseIsoDate(20240101)).toBeNull();
  });
});
