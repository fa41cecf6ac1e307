import { describe, expect, it } from "vitest";
import { ruleFormFrom, ruleFormOf, ruleFromForm } from "./forms.ts";

describe("rule editor form", () => {
  it("when rows are submitted, then values are typed (numbers, booleans, quoted strings, lists) and negated rows become not", () => {
    const form = ruleFormFrom({
      rule_mode: "any",
      r_neg: ["", "not", "", ""],
      r_attr: ["points", "plan", "tags", ""],
      r_op: ["gte", "eq", "in", "eq"],
      r_value: ["42", "\"42\"", "a,true,3", "ignored: no attribute"],
    });
    expect(ruleFromForm(form)).toEqual({
      any: [
        { attr: "points", op: "gte", value: 42 },
        { not: { attr: "plan", op: "eq", value: "42" } },
        { attr: "tags", op: "in", value: ["a", true, 3] },
      ],
    });
  });

  it("when one row is given, then the rule is that condition alone; with none, there is no rule", () => {
    expect(ruleFromForm(ruleFormFrom({ rule_mode: "all", r_attr: "vip", r_op: "exists", r_value: "x", r_neg: "" }))).toEqual({ attr: "vip", op: "exists" });
    expect(ruleFromForm(ruleFormFrom({ rule_mode: "all", r_attr: "", r_op: "eq", r_value: "", r_neg: "" }))).toBeNull();
    expect(ruleFromForm(ruleFormFrom({ rule_mode: "none", r_attr: "vip", r_op: "exists" }))).toBeNull();
  });

  it("when a saved flat rule is shown, then its rows give back the same rule; a nested one opens as JSON", () => {
    const flat = { all: [{ attr: "n", op: "eq", value: "7" }, { not: { attr: "ok", op: "eq", value: true } }] };
    const f = ruleFormOf(flat);
    expect(f.mode).toBe("all");
    const submitted = ruleFormFrom({ rule_mode: f.mode, r_neg: f.rows.map((r) => (r.neg ? "not" : "")), r_attr: f.rows.map((r) => r.attr), r_op: f.rows.map((r) => r.op), r_value: f.rows.map((r) => r.value) });
    expect(ruleFromForm(submitted)).toEqual(flat);
    const nested = { any: [{ all: [{ attr: "a", op: "exists" }] }] };
    expect(ruleFormOf(nested).mode).toBe("json");
    expect(ruleFromForm(ruleFormFrom({ rule_mode: "json", rule_json: JSON.stringify(nested) }))).toEqual(nested);
  });
});
