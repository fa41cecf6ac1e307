// One table of Condition cases with the expected answer. The JavaScript evaluator is checked against
// it in condition.test.ts and the SQL compiler, on real PostgreSQL, in
// test/persona-condition-sql.test.ts: both sides must agree with the table, hence with each other.
import type { Condition } from "./condition.ts";

export interface ConditionCase {
  name: string;
  rule: Condition;
  attributes: Record<string, unknown>;
  expected: boolean;
}

const A = {
  plan: "pro",
  spend: 120.5,
  visits: 3,
  vip: true,
  nothing: null,
  tags: ["sport", "news", 7, true, ["nested"]],
  address: { city: "Lyon", zip: "69001", geo: { lat: 45.76 } },
  signup: "2024-03-15T10:30:00Z",
  birthday: "1990-02-28",
  offset: "2024-03-15T12:30:00+02:00",
  badDate: "2023-02-29",
  bio: "Loves hiking and climbing",
  items: [{ sku: "a1" }, { sku: "b2" }],
  "weird-key_1": "ok",
  word: "éclair",
  num_str: "10",
};

/** Attribute dates at and beyond the edges of what a rule may name. */
const EDGES = {
  far: "9999-12-31T23:59:59-14:00", // year 10000 in UTC
  early: "0001-01-01T00:00:00+14:00", // 1 BC in UTC
  first: "0001-01-01",
  last: "9999-12-31",
  lastInstant: "9999-12-31T23:59:59.999Z",
};

const c = (name: string, rule: Condition, expected: boolean, attributes: Record<string, unknown> = A): ConditionCase => ({
  name,
  rule,
  attributes,
  expected,
});

export const conditionCases: ConditionCase[] = [
  c("eq string", { attr: "plan", op: "eq", value: "pro" }, true),
  c("eq string differs", { attr: "plan", op: "eq", value: "Pro" }, false),
  c("eq number", { attr: "visits", op: "eq", value: 3 }, true),
  c("eq number vs string never equal", { attr: "num_str", op: "eq", value: 10 }, false),
  c("eq boolean", { attr: "vip", op: "eq", value: true }, true),
  c("eq missing", { attr: "nope", op: "eq", value: "x" }, false),
  c("neq missing is true", { attr: "nope", op: "neq", value: "x" }, true),
  c("neq equal is false", { attr: "plan", op: "neq", value: "pro" }, false),
  c("nested path", { attr: "address.city", op: "eq", value: "Lyon" }, true),
  c("deep nested number", { attr: "address.geo.lat", op: "gt", value: 45 }, true),
  c("path through a scalar", { attr: "plan.x", op: "exists" }, false),
  c("array index", { attr: "items.1.sku", op: "eq", value: "b2" }, true),
  c("array index with a leading zero", { attr: "items.01.sku", op: "eq", value: "b2" }, true),
  c("huge array index", { attr: "items.99999999999999.sku", op: "exists" }, false),
  c("array index out of range", { attr: "items.5.sku", op: "exists" }, false),
  c("key with dash and underscore", { attr: "weird-key_1", op: "eq", value: "ok" }, true),
  c("gt number", { attr: "spend", op: "gt", value: 100 }, true),
  c("gte number equal", { attr: "spend", op: "gte", value: 120.5 }, true),
  c("lt number", { attr: "spend", op: "lt", value: 120.5 }, false),
  c("lte number", { attr: "visits", op: "lte", value: 3 }, true),
  c("gt on a numeric string is not numeric", { attr: "num_str", op: "gt", value: 5 }, false),
  c("gt on missing", { attr: "nope", op: "gt", value: 0 }, false),
  c("gt string by code point", { attr: "plan", op: "gt", value: "pa" }, true),
  c("lt string uppercase sorts first", { attr: "plan", op: "lt", value: "Z" }, false),
  c("gt non-ASCII string", { attr: "word", op: "gt", value: "z" }, true),
  c("date gt", { attr: "signup", op: "gt", value: "2024-01-01" }, true),
  c("date lt", { attr: "signup", op: "lt", value: "2024-03-15T10:00:00Z" }, false),
  c("date eq across offsets", { attr: "offset", op: "eq", value: "2024-03-15T10:30:00Z" }, true),
  c("date eq exact instant", { attr: "signup", op: "eq", value: "2024-03-15T11:30:00+01:00" }, true),
  c("date-only is UTC midnight", { attr: "birthday", op: "eq", value: "1990-02-28T00:00:00Z" }, true),
  c("date lte date-only", { attr: "birthday", op: "lte", value: "1990-02-28" }, true),
  c("invalid calendar date never matches", { attr: "badDate", op: "lt", value: "2030-01-01" }, false),
  // A rule's dates lie in years 1-9999 UTC; attribute dates beyond them still compare as instants.
  c("latest rule date", { attr: "far", op: "gt", value: "9999-12-31T23:59:59.999Z" }, true, EDGES),
  c("latest rule date with an offset", { attr: "far", op: "gte", value: "9999-12-31T23:59:59.999+00:00" }, true, EDGES),
  c("earliest rule date", { attr: "early", op: "lt", value: "0001-01-01T00:00:00Z" }, true, EDGES),
  c("earliest rule date, date-only", { attr: "early", op: "gte", value: "0001-01-01" }, false, EDGES),
  c("earliest rule date eq a date-only attribute", { attr: "first", op: "eq", value: "0001-01-01T00:00:00Z" }, true, EDGES),
  c("rule date at the top of the range vs a plain date", { attr: "last", op: "lt", value: "9999-12-31T23:59:59.999Z" }, true, EDGES),
  c("rule date at the top of the range, eq", { attr: "lastInstant", op: "eq", value: "9999-12-31T23:59:59.999Z" }, true, EDGES),
  c("rule date near the top with an offset", { attr: "last", op: "gt", value: "9999-12-31T09:00:00+14:00" }, true, EDGES),
  c("non-date string vs date value", { attr: "plan", op: "gt", value: "2020-01-01" }, false),
  c("number vs date value", { attr: "visits", op: "gt", value: "2020-01-01" }, false),
  c("in scalar", { attr: "plan", op: "in", value: ["free", "pro"] }, true),
  c("in scalar absent", { attr: "plan", op: "in", value: ["free", "team"] }, false),
  c("in number", { attr: "visits", op: "in", value: [1, 2, 3] }, true),
  c("in type-strict", { attr: "visits", op: "in", value: ["3"] }, false),
  c("in list overlap", { attr: "tags", op: "in", value: ["news", "tech"] }, true),
  c("in list no overlap", { attr: "tags", op: "in", value: ["tech"] }, false),
  c("in list ignores nested lists", { attr: "tags", op: "in", value: ["nested"] }, false),
  c("in on object", { attr: "address", op: "in", value: ["Lyon"] }, false),
  c("contains list string", { attr: "tags", op: "contains", value: "sport" }, true),
  c("contains list number", { attr: "tags", op: "contains", value: 7 }, true),
  c("contains list boolean", { attr: "tags", op: "contains", value: true }, true),
  c("contains list nested not found", { attr: "tags", op: "contains", value: "nested" }, false),
  c("contains list type-strict", { attr: "tags", op: "contains", value: "7" }, false),
  c("contains substring", { attr: "bio", op: "contains", value: "hiking" }, true),
  c("contains substring is case-sensitive", { attr: "bio", op: "contains", value: "Hiking" }, false),
  c("contains on number", { attr: "visits", op: "contains", value: 3 }, false),
  c("exists", { attr: "plan", op: "exists" }, true),
  c("exists null is absent", { attr: "nothing", op: "exists" }, false),
  c("exists missing", { attr: "nope", op: "exists" }, false),
  c("exists empty attributes", { attr: "plan", op: "exists" }, false, {}),
  c("all", { all: [{ attr: "plan", op: "eq", value: "pro" }, { attr: "spend", op: "gt", value: 100 }] }, true),
  c("all one false", { all: [{ attr: "plan", op: "eq", value: "pro" }, { attr: "spend", op: "gt", value: 1000 }] }, false),
  c("any", { any: [{ attr: "plan", op: "eq", value: "free" }, { attr: "vip", op: "eq", value: true }] }, true),
  c("any none", { any: [{ attr: "plan", op: "eq", value: "free" }, { attr: "nope", op: "exists" }] }, false),
  c("not of unknown comparison is true", { not: { attr: "nope", op: "gt", value: 1 } }, true),
  c("not not", { not: { not: { attr: "plan", op: "eq", value: "pro" } } }, true),
  c(
    "nested combination",
    { all: [{ any: [{ attr: "address.city", op: "in", value: ["Paris", "Lyon"] }, { attr: "vip", op: "eq", value: false }] }, { not: { attr: "tags", op: "contains", value: "spam" } }] },
    true,
  ),
  c("quotes and SQL in values are data", { attr: "plan", op: "eq", value: "pro'; DROP TABLE customers; --" }, false),
  c("quotes in attribute values", { attr: "q", op: "eq", value: `it's "quoted"` }, true, { q: `it's "quoted"` }),
  c("key named like a prototype member", { attr: "constructor", op: "exists" }, false, { plan: "x" }),
  c("own __proto__-like key", { attr: "toString", op: "eq", value: "x" }, true, { toString: "x" }),
];
