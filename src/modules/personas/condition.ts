// The Condition language (API.md) over customer attributes: its schema, an in-process evaluator and a
// compiler to SQL over the JSONB `attributes` column. Both sides implement the semantics below and
// are tested against the same table of cases (condition.test.ts, test/persona-condition-sql.test.ts).
//
// Semantics, for the value `a` found at `attr` (a dotted path; digits index arrays):
// - exists: `a` is present and not JSON null.
// - eq: same JSON type and equal; when `value` is an ISO date, `a` must be an ISO date at the same
//   instant. neq is exactly `not eq` (so a missing attribute is "not equal").
// - gt/gte/lt/lte: numbers compare numerically, ISO dates as instants, other strings by code point;
//   `a` of another type never matches.
// - A rule's own dates lie in years 1-9999 UTC (iso-date.ts); attribute dates may lie anywhere.
// - in: `a` is a scalar equal to one of `value`, or a list sharing at least one element with it.
// - contains: `a` is a list with an element equal to `value`, or a string containing it.
import { z } from "zod";
import { isOutOfRuleRange, parseIsoDate, RULE_DATE_RANGE, sqlIsoDate } from "./iso-date.ts";

export const OPS = ["eq", "neq", "gt", "gte", "lt", "lte", "in", "contains", "exists"] as const;
export type Op = (typeof OPS)[number];
export type Scalar = string | number | boolean;
export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { attr: string; op: Op; value?: Scalar | Scalar[] };

export const MAX_DEPTH = 8;
export const MAX_NODES = 200;

/** Attribute paths: safe characters only (they also reach SQL, as bound parameters). */
export const attrPath = z
  .string()
  .max(200)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_][A-Za-z0-9_-]*)*$/, "Use dot-separated names of letters, digits, '_' or '-'")
  .refine((p) => p.split(".").length <= 10, "At most 10 path segments");

const scalar = z.union([z.string().max(1000), z.number().finite(), z.boolean()]);

type Node = { all?: Node[]; any?: Node[]; not?: Node; attr?: string; op?: Op; value?: Scalar | Scalar[] };

const node: z.ZodType<Node> = z
  .strictObject({
    get all() {
      return z.array(node).min(1).max(100).optional();
    },
    get any() {
      return z.array(node).min(1).max(100).optional();
    },
    get not() {
      return node.optional();
    },
    attr: attrPath.optional(),
    op: z.enum(OPS).optional(),
    value: z.union([scalar, z.array(scalar).min(1).max(1000)]).optional(),
  })
  .superRefine((c, ctx) => {
    const forms = (["all", "any", "not", "attr"] as const).filter((k) => c[k] !== undefined);
    if (forms.length !== 1) {
      ctx.addIssue({ code: "custom", message: "Use exactly one of 'all', 'any', 'not' or 'attr'" });
      return;
    }
    if (forms[0] !== "attr") {
      if (c.op !== undefined) ctx.addIssue({ code: "custom", path: ["op"], message: "'op' goes with 'attr'" });
      if (c.value !== undefined) ctx.addIssue({ code: "custom", path: ["value"], message: "'value' goes with 'attr'" });
      return;
    }
    const v = c.value;
    const fail = (message: string) => ctx.addIssue({ code: "custom", path: ["value"], message });
    if (c.op === undefined) ctx.addIssue({ code: "custom", path: ["op"], message: "'attr' needs an 'op'" });
    else if (c.op === "exists") {
      if (v !== undefined) fail("'exists' takes no value");
    } else if (c.op === "in") {
      if (!Array.isArray(v)) fail("'in' needs a list of values");
    } else if (v === undefined || Array.isArray(v)) fail(`'${c.op}' needs one value (a string, number or boolean)`);
    else if (["gt", "gte", "lt", "lte"].includes(c.op) && typeof v === "boolean") fail(`'${c.op}' compares numbers, strings or dates`);
    else if (c.op !== "contains" && isOutOfRuleRange(v)) fail(`Dates in rules lie ${RULE_DATE_RANGE}`);
  });

/** Measured before the structural parse, iteratively, so a hostile nesting cannot exhaust the stack. */
function checkSize(value: unknown, ctx: z.RefinementCtx) {
  const stack: Array<[unknown, number]> = [[value, 1]];
  let nodes = 0;
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object" || Array.isArray(v)) continue;
    if (++nodes > MAX_NODES) return ctx.addIssue({ code: "custom", message: `A rule has at most ${MAX_NODES} conditions` });
    if (depth > MAX_DEPTH) return ctx.addIssue({ code: "custom", message: `A rule nests at most ${MAX_DEPTH} levels` });
    const o = v as Record<string, unknown>;
    for (const k of ["all", "any"]) if (Array.isArray(o[k])) for (const child of o[k] as unknown[]) stack.push([child, depth + 1]);
    if (o.not !== undefined) stack.push([o.not, depth + 1]);
  }
}

// No .transform here: schemas stay representable in the generated OpenAPI document.
export const conditionSchema = z
  .unknown()
  .superRefine(checkSize)
  .pipe(node)
  .meta({ description: "Condition over customer attributes: {all}, {any}, {not} or {attr, op, value?}" }) as unknown as z.ZodType<Condition>;

// ---------------------------------------------------------------------------------------------
// Evaluation in JavaScript (preview of a hypothetical customer, unit tests)

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Same addressing as PostgreSQL's `#>`: object keys, or non-negative integer indexes into arrays. */
export function lookupPath(attributes: unknown, path: string): Json | undefined {
  let cur: unknown = attributes;
  for (const seg of path.split(".")) {
    if (Array.isArray(cur)) cur = /^[0-9]+$/.test(seg) ? cur[Number(seg)] : undefined;
    else if (cur !== null && typeof cur === "object") cur = Object.hasOwn(cur, seg) ? (cur as Record<string, unknown>)[seg] : undefined;
    else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur as Json;
}

const isScalar = (v: unknown): v is Scalar => typeof v === "string" || typeof v === "number" || typeof v === "boolean";
const sameScalar = (a: unknown, b: Scalar) => isScalar(a) && typeof a === typeof b && a === b;
/** Code-point order, which is what PostgreSQL's "C" collation gives for UTF-8 text. */
const compareStrings = (a: string, b: string) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

function equals(a: Json | undefined, v: Scalar): boolean {
  const vd = parseIsoDate(v);
  if (vd !== null) return parseIsoDate(a) === vd;
  return sameScalar(a, v);
}

function order(a: Json | undefined, v: Scalar): number | null {
  if (typeof v === "number") return typeof a === "number" ? a - v : null;
  const vd = parseIsoDate(v);
  if (vd !== null) {
    const ad = parseIsoDate(a);
    return ad === null ? null : ad - vd;
  }
  return typeof a === "string" && typeof v === "string" ? compareStrings(a, v) : null;
}

export function evaluate(c: Condition, attributes: unknown): boolean {
  if ("all" in c) return c.all.every((x) => evaluate(x, attributes));
  if ("any" in c) return c.any.some((x) => evaluate(x, attributes));
  if ("not" in c) return !evaluate(c.not, attributes);
  const a = lookupPath(attributes, c.attr);
  const v = c.value as Scalar;
  switch (c.op) {
    case "exists":
      return a !== undefined && a !== null;
    case "eq":
      return equals(a, v);
    case "neq":
      return !equals(a, v);
    case "gt": case "gte": case "lt": case "lte": {
      const d = order(a, v);
      if (d === null) return false;
      return c.op === "gt" ? d > 0 : c.op === "gte" ? d >= 0 : c.op === "lt" ? d < 0 : d <= 0;
    }
    case "in": {
      const list = c.value as Scalar[];
      const member = (x: unknown) => list.some((v2) => sameScalar(x, v2));
      return Array.isArray(a) ? a.some(member) : member(a);
    }
    case "contains":
      if (Array.isArray(a)) return a.some((x) => sameScalar(x, v));
      return typeof a === "string" && typeof v === "string" && a.includes(v);
  }
}

// ---------------------------------------------------------------------------------------------
// Compilation to SQL. Every value and path is a bound parameter; the only SQL text that varies is
// chosen here from fixed fragments, so a rule cannot inject SQL.

/** Collects bound parameters for one statement; `add` returns the placeholder with its cast. */
export class SqlParams {
  readonly values: unknown[] = [];
  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }
}

const SQL_OPS = { gt: ">", gte: ">=", lt: "<", lte: "<=" } as const;
const SCALAR_TYPES = "('string','number','boolean')";

/**
 * A boolean SQL expression (never NULL, so `not` behaves like JavaScript's `!`) that is true when
 * the JSONB expression `column` satisfies `c`. `column` must be trusted SQL (e.g. "c.attributes").
 */
export function conditionToSql(c: Condition, column: string, params: SqlParams): string {
  if ("all" in c) return `(${c.all.map((x) => conditionToSql(x, column, params)).join(" AND ")})`;
  if ("any" in c) return `(${c.any.map((x) => conditionToSql(x, column, params)).join(" OR ")})`;
  if ("not" in c) return `(NOT ${conditionToSql(c.not, column, params)})`;
  const a = `(${column} #> ${params.add(c.attr.split("."), "text[]")})`;
  const text = `(${a} #>> '{}')`;
  const v = c.value as Scalar;
  const eq = (): string => {
    const vd = parseIsoDate(v);
    if (vd !== null) return `(jsonb_typeof(${a}) = 'string' AND ${sqlIsoDate(text)} = ${params.add(new Date(vd).toISOString(), "timestamptz")})`;
    return `(${a} = ${params.add(JSON.stringify(v), "jsonb")})`;
  };
  let expr: string;
  switch (c.op) {
    case "exists":
      expr = `(jsonb_typeof(${a}) <> 'null')`;
      break;
    case "eq":
      expr = eq();
      break;
    case "neq":
      return `(NOT COALESCE(${eq()}, false))`;
    case "gt": case "gte": case "lt": case "lte": {
      const op = SQL_OPS[c.op];
      const vd = parseIsoDate(v);
      if (typeof v === "number") expr = `(CASE WHEN jsonb_typeof(${a}) = 'number' THEN ${a}::numeric ${op} ${params.add(v, "numeric")} END)`;
      else if (vd !== null) expr = `(jsonb_typeof(${a}) = 'string' AND ${sqlIsoDate(text)} ${op} ${params.add(new Date(vd).toISOString(), "timestamptz")})`;
      else expr = `(jsonb_typeof(${a}) = 'string' AND ${text} COLLATE "C" ${op} ${params.add(v, "text")})`;
      break;
    }
    case "in": {
      const list = params.add(JSON.stringify(c.value), "jsonb");
      expr =
        `(CASE jsonb_typeof(${a}) WHEN 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements(${a}) e(v) ` +
        `WHERE jsonb_typeof(e.v) IN ${SCALAR_TYPES} AND ${list} @> jsonb_build_array(e.v)) ` +
        `ELSE jsonb_typeof(${a}) IN ${SCALAR_TYPES} AND ${list} @> jsonb_build_array(${a}) END)`;
      break;
    }
    case "contains": {
      const arr = `jsonb_typeof(${a}) = 'array' AND ${a} @> jsonb_build_array(${params.add(JSON.stringify(v), "jsonb")})`;
      expr = typeof v === "string" ? `(${arr} OR (jsonb_typeof(${a}) = 'string' AND strpos(${text}, ${params.add(v, "text")}) > 0))` : `(${arr})`;
      break;
    }
  }
  return `COALESCE(${expr}, false)`;
}
