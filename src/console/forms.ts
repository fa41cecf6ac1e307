// Reading console forms (urlencoded, possibly repeated fields) into the shapes the use cases take.
// The result is then validated by the module's own zod schema, exactly as the API does.
import { z } from "zod";
import { toFieldErrors } from "../api/validate.ts";
import { AppError } from "../platform/errors.ts";
import { OPS, type Condition, type Scalar } from "../modules/personas/condition.ts";

/** A repeated field as a list (one occurrence arrives as a string). */
export const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);
export const str = (v: unknown): string => (Array.isArray(v) ? String(v[0] ?? "") : v === undefined ? "" : String(v));
/** Non-empty trimmed lines of a textarea. */
export const lines = (v: unknown): string[] => str(v).split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
/** Empty means "not given". */
export const optional = (v: unknown): string | undefined => (str(v).trim() === "" ? undefined : str(v));

/** Validates with a module schema; a failure is a 400 AppError listing every field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const errors = toFieldErrors(r.error);
    throw new AppError("validation", errors.map((e) => `${e.path || "form"}: ${e.message}`).join("; "), { errors });
  }
  return r.data;
}

// ---- The rule editor: a combinator and rows of (negated?) attribute, operator, value ----

export interface RuleRow { neg: boolean; attr: string; op: string; value: string }
export interface RuleForm { mode: "all" | "any" | "json" | "none"; rows: RuleRow[]; json: string }

/** "42" is a number, true/false booleans, "\"42\"" the string 42; anything else a string. */
function scalar(s: string): Scalar {
  const t = s.trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t === "true" || t === "false") return t === "true";
  if (/^".*"$/.test(t)) return t.slice(1, -1);
  return t;
}
const showScalar = (v: unknown) => (typeof v === "string" && (/^-?\d+(\.\d+)?$/.test(v) || v === "true" || v === "false") ? JSON.stringify(v) : String(v));

export function ruleFormFrom(body: Record<string, unknown>): RuleForm {
  const mode = (["all", "any", "json", "none"] as const).find((m) => m === str(body.rule_mode)) ?? "all";
  const attrs = list(body.r_attr);
  const ops = list(body.r_op);
  const values = list(body.r_value);
  const negs = list(body.r_neg);
  const rows = attrs.map((attr, i) => ({ attr: attr.trim(), op: ops[i] ?? "eq", value: values[i] ?? "", neg: negs[i] === "not" }));
  return { mode, rows, json: str(body.rule_json) };
}

/** The Condition the form describes (unvalidated), or null for "no rule". */
export function ruleFromForm(f: RuleForm): unknown {
  if (f.mode === "none") return null;
  if (f.mode === "json") return f.json.trim() ? safeJson(f.json) : null;
  const leaves = f.rows.filter((r) => r.attr !== "").map((r) => {
    const leaf: Record<string, unknown> = { attr: r.attr, op: r.op };
    if (r.op === "in") leaf.value = r.value.split(",").map(scalar);
    else if (r.op !== "exists") leaf.value = scalar(r.value);
    return r.neg ? { not: leaf } : leaf;
  });
  if (!leaves.length) return null;
  return leaves.length === 1 ? leaves[0] : { [f.mode]: leaves };
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    throw new AppError("validation", "The rule is not valid JSON", { errors: [{ path: "rule", message: "Not valid JSON" }] });
  }
}

type Leaf = { attr: string; op: string; value?: Scalar | Scalar[] };
const isLeaf = (c: unknown): c is Leaf => typeof c === "object" && c !== null && "attr" in c;
const rowOf = (c: unknown): RuleRow | null => {
  const neg = typeof c === "object" && c !== null && "not" in c;
  const leaf = neg ? (c as { not: unknown }).not : c;
  if (!isLeaf(leaf)) return null;
  const value = Array.isArray(leaf.value) ? leaf.value.map(showScalar).join(",") : leaf.value === undefined ? "" : showScalar(leaf.value);
  return { neg, attr: leaf.attr, op: leaf.op, value };
};

/** Rows for a saved rule; nested rules the rows cannot show open in the JSON editor. */
export function ruleFormOf(rule: Condition | null | unknown): RuleForm {
  const json = rule ? JSON.stringify(rule, null, 2) : "";
  if (!rule) return { mode: "all", rows: [], json };
  const one = rowOf(rule);
  if (one) return { mode: "all", rows: [one], json };
  const r = rule as { all?: unknown[]; any?: unknown[] };
  const items = r.all ?? r.any;
  const rows = items?.map(rowOf);
  if (rows && rows.every((x): x is RuleRow => x !== null)) return { mode: r.all ? "all" : "any", rows, json };
  return { mode: "json", rows: [], json };
}

/** The rows to show: the given ones plus `blank` empty rows, each with its operator list marked. */
export function ruleRowsForView(f: RuleForm, blank: number) {
  const rows = [...f.rows, ...Array.from({ length: blank }, () => ({ neg: false, attr: "", op: "eq", value: "" }))];
  return rows.map((r, i) => ({ ...r, i: i + 1, ops: OPS.map((op) => ({ op, selected: op === r.op })) }));
}
