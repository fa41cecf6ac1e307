// The vetted helper set. Helpers return plain strings (never SafeString), so Handlebars escapes
// their output like any other value; they never touch prototypes or evaluate anything.
import type { HelperDelegate, HelperOptions } from "handlebars";
import { spendChars } from "./budget.ts";

type Args = unknown[];

/** Handlebars passes the options object last; everything before it is what the template gave. */
function split(args: Args): { params: unknown[]; options: HelperOptions } {
  return { params: args.slice(0, -1), options: args[args.length - 1] as HelperOptions };
}

const str = (v: unknown): string => (v === undefined || v === null ? "" : typeof v === "string" ? v : String(v));
/** The string a helper is about to walk, charged to the render budget (budget.ts). */
const walked = (v: unknown): string => {
  const s = str(v);
  spendChars(s.length);
  return s;
};
const rootCustomer = (o: HelperOptions) => (o.data?.root?.customer ?? {}) as { locale?: string | null; timezone?: string | null };

// Intl formatters are expensive to build (tens of microseconds) and cheap to reuse.
const formatters = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat>();
function cached<T extends Intl.DateTimeFormat | Intl.NumberFormat>(key: string, make: () => T): T {
  let f = formatters.get(key) as T | undefined;
  if (!f) {
    if (formatters.size >= 500) formatters.clear();
    f = make();
    formatters.set(key, f);
  }
  return f;
}

// Validating a locale or a zone builds an Intl object (tens of microseconds): remember the answers.
const validity = new Map<string, boolean>();
function valid(kind: "l" | "z", value: string, check: () => void): boolean {
  const key = `${kind}|${value}`;
  let ok = validity.get(key);
  if (ok === undefined) {
    try {
      check();
      ok = true;
    } catch {
      ok = false;
    }
    if (validity.size >= 1000) validity.clear();
    validity.set(key, ok);
  }
  return ok;
}

/** A usable locale, else "en": template data must not be able to make a helper throw. */
function locale(...candidates: unknown[]): string {
  for (const c of candidates) {
    if (typeof c === "string" && c && valid("l", c, () => {
      if (!Intl.DateTimeFormat.supportedLocalesOf([c]).length) throw new RangeError(c);
    })) return c;
  }
  return "en";
}

function timeZone(...candidates: unknown[]): string {
  for (const c of candidates) {
    if (typeof c === "string" && c && valid("z", c, () => new Intl.DateTimeFormat("en", { timeZone: c }))) return c;
  }
  return "UTC";
}

const STYLES = new Set(["short", "medium", "long", "full"]);
type Style = "short" | "medium" | "long" | "full";

/** {{formatDate date "long" time="short" locale="fr-FR" timeZone="Europe/Paris"}} */
function formatDate(...args: Args): string {
  const { params, options } = split(args);
  const [value, style] = params;
  const d = value instanceof Date ? value : typeof value === "string" || typeof value === "number" ? new Date(value) : null;
  if (!d || Number.isNaN(d.getTime())) return "";
  const h = options.hash ?? {};
  const loc = locale(h.locale, rootCustomer(options).locale);
  const tz = timeZone(h.timeZone, rootCustomer(options).timezone);
  const dateStyle = (STYLES.has(str(style)) ? str(style) : "medium") as Style;
  const timeStyle = STYLES.has(str(h.time)) ? (str(h.time) as Style) : undefined;
  const key = `d|${loc}|${tz}|${dateStyle}|${timeStyle ?? ""}`;
  return cached(key, () => new Intl.DateTimeFormat(loc, { dateStyle, timeStyle, timeZone: tz })).format(d);
}

const toNumber = (v: unknown) => (typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN);
const digits = (v: unknown) => (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 10 ? v : undefined);

/** {{formatNumber n decimals=2 locale="de-DE"}} */
function formatNumber(...args: Args): string {
  const { params, options } = split(args);
  const n = toNumber(params[0]);
  if (!Number.isFinite(n)) return "";
  const loc = locale(options.hash?.locale, rootCustomer(options).locale);
  const dec = digits(options.hash?.decimals);
  const key = `n|${loc}|${dec ?? ""}`;
  return cached(key, () => new Intl.NumberFormat(loc, dec === undefined ? {} : { minimumFractionDigits: dec, maximumFractionDigits: dec })).format(n);
}

/** {{currency amount "EUR" locale="fr-FR"}} */
function currency(...args: Args): string {
  const { params, options } = split(args);
  const n = toNumber(params[0]);
  const code = str(params[1] ?? options.hash?.currency ?? "USD").toUpperCase();
  if (!Number.isFinite(n) || !/^[A-Z]{3}$/.test(code)) return "";
  const loc = locale(options.hash?.locale, rootCustomer(options).locale);
  try {
    return cached(`c|${loc}|${code}`, () => new Intl.NumberFormat(loc, { style: "currency", currency: code })).format(n);
  } catch {
    return "";
  }
}

/** Boolean helpers work as subexpressions `{{#if (eq a b)}}` and as blocks `{{#eq a b}}..{{else}}..{{/eq}}`. */
function predicate(test: (params: unknown[]) => boolean): HelperDelegate {
  return function (this: unknown, ...args: Args) {
    const { params, options } = split(args);
    const result = test(params);
    if (typeof options.fn === "function") return result ? options.fn(this) : options.inverse(this);
    return result;
  };
}

/** Comparing two strings may walk the shorter one: charged to the render budget. */
function charge(a: unknown, b: unknown): void {
  if (typeof a === "string" && typeof b === "string") spendChars(Math.min(a.length, b.length));
}
const comparable = (a: unknown, b: unknown) =>
  (typeof a === "number" && typeof b === "number") || (typeof a === "string" && typeof b === "string");
const truthy = (v: unknown) => (Array.isArray(v) ? v.length > 0 : Boolean(v));

/** {{truncate text 140}} cuts at a code point (never inside a surrogate pair) and adds "…". */
function truncate(...args: Args): string {
  const { params, options } = split(args);
  const s = str(params[0]);
  const n = toNumber(params[1]);
  // length counts UTF-16 units, never fewer than code points: short strings need no walk.
  if (!Number.isInteger(n) || n < 0 || s.length <= n) return s;
  let out = "";
  let count = 0;
  for (const ch of s) {
    if (count++ === n) return out + str(params[2] ?? options.hash?.suffix ?? "…");
    out += ch;
  }
  return s;
}

/** {{pluralize count "item"}} -> "item" or "items"; {{pluralize count "child" "children"}}. */
function pluralize(...args: Args): string {
  const { params } = split(args);
  const [count, singular, plural] = params;
  return toNumber(count) === 1 ? str(singular) : plural !== undefined ? str(plural) : `${str(singular)}s`;
}

/** Debugging aid for previews only: at send time it renders nothing. */
function json(...args: Args): string {
  const { params, options } = split(args);
  if (options.data?.rapportMode !== "preview") return "";
  let out: string;
  try {
    out = JSON.stringify(params[0] ?? null, null, 2) ?? "";
  } catch {
    return "";
  }
  spendChars(out.length);
  return out;
}

export const helpers: Record<string, HelperDelegate> = {
  formatDate,
  formatNumber,
  currency,
  default: (...args: Args) => {
    const [v, fallback] = split(args).params;
    return v === undefined || v === null || v === "" ? fallback : v;
  },
  eq: predicate(([a, b]) => {
    charge(a, b);
    return a === b;
  }),
  ne: predicate(([a, b]) => {
    charge(a, b);
    return a !== b;
  }),
  gt: predicate(([a, b]) => {
    charge(a, b);
    return comparable(a, b) && (a as number) > (b as number);
  }),
  lt: predicate(([a, b]) => {
    charge(a, b);
    return comparable(a, b) && (a as number) < (b as number);
  }),
  and: predicate((p) => p.length > 0 && p.every(truthy)),
  or: predicate((p) => p.some(truthy)),
  not: predicate(([a]) => !truthy(a)),
  uppercase: (...args: Args) => walked(split(args).params[0]).toUpperCase(),
  lowercase: (...args: Args) => walked(split(args).params[0]).toLowerCase(),
  capitalize: (...args: Args) => {
    const s = walked(split(args).params[0]);
    return s.charAt(0).toUpperCase() + s.slice(1);
  },
  truncate,
  pluralize,
  json,
};
