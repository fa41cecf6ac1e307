// ISO 8601 dates as the Condition language understands them, defined identically for JavaScript and
// for SQL so that rule membership computed in PostgreSQL equals the in-process evaluator.
// Accepted: `YYYY-MM-DD` (UTC midnight) or `YYYY-MM-DDTHH:MM[:SS[.fff]]` with `Z` or `±HH:MM`.
// A time without an offset is refused: JavaScript would read it in the server's zone, SQL in the
// session's. At most millisecond precision: JavaScript dates have no more.

/** The same pattern is used by JavaScript and by PostgreSQL's ARE engine (only POSIX-safe syntax). */
export const ISO_DATE_PATTERN =
  "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])" +
  "(T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,3})?)?(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9]))?$";

const re = new RegExp(ISO_DATE_PATTERN);

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

/** Milliseconds since the epoch, or null when `s` is not a date in the accepted form. */
export function parseIsoDate(s: unknown): number | null {
  if (typeof s !== "string" || !re.test(s)) return null;
  const y = Number(s.slice(0, 4));
  const mo = Number(s.slice(5, 7));
  const d = Number(s.slice(8, 10));
  if (y === 0 || d > daysInMonth(y, mo)) return null;
  const t = /T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|([+-])(\d{2}):(\d{2}))$/.exec(s);
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(y, mo - 1, d);
  if (t) {
    date.setUTCHours(Number(t[1]), Number(t[2]), Number(t[3] ?? 0), Number((t[4] ?? "0").padEnd(3, "0")));
    if (t[5] !== "Z") {
      const offset = (Number(t[7]) * 60 + Number(t[8])) * 60_000;
      return date.getTime() - (t[6] === "+" ? offset : -offset);
    }
  }
  return date.getTime();
}

/**
 * Instants a rule may compare with: years 1 to 9999 in UTC. PostgreSQL and JavaScript agree on every
 * accepted date, but a rule's date is bound to SQL as its UTC ISO string, and outside these years
 * that string is not ISO 8601 ("+010000-...") or names year 0, which PostgreSQL rejects: every
 * refresh, hence every customer write, would fail. "9999-12-31T23:59:59-14:00" is already year 10000.
 */
export const MIN_RULE_INSTANT = Date.parse("0001-01-01T00:00:00.000Z");
export const MAX_RULE_INSTANT = Date.parse("9999-12-31T23:59:59.999Z");
export const RULE_DATE_RANGE = "between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z (in UTC)";

/** A date a rule cannot compare with: accepted form, instant outside MIN/MAX_RULE_INSTANT. */
export function isOutOfRuleRange(s: unknown): boolean {
  const t = parseIsoDate(s);
  return t !== null && (t < MIN_RULE_INSTANT || t > MAX_RULE_INSTANT);
}

/**
 * SQL expression turning the text expression `s` into a timestamptz, or NULL when it is not a date
 * in the accepted form. Never raises: the cast is reached only after the pattern and the day of
 * the month were checked (CASE evaluates its branches in order). `s` must be trusted SQL.
 */
export function sqlIsoDate(s: string): string {
  const y = `substr(${s}, 1, 4)::int`;
  const md = `substr(${s}, 6, 5)`;
  const leap = `(${y} % 4 = 0 AND (${y} % 100 <> 0 OR ${y} % 400 = 0))`;
  // Plain comparisons and integer arithmetic: cheaper per row than make_date() and intervals.
  const validDay = `${md} NOT IN ('02-30', '02-31', '04-31', '06-31', '09-31', '11-31') AND (${md} <> '02-29' OR ${leap})`;
  return (
    `(CASE WHEN ${s} ~ '${ISO_DATE_PATTERN}' AND substr(${s}, 1, 4) <> '0000' THEN ` +
    `CASE WHEN ${validDay} THEN ` +
    `(CASE WHEN length(${s}) = 10 THEN ${s} || 'T00:00:00Z' ELSE ${s} END)::timestamptz END END)`
  );
}
