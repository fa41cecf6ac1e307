// CSV imports: a header row naming the columns, then one customer per record. Cells are strings
// (no type guessing: "007" stays "007"); an empty cell means "not given", so it never clears a value.
import { CsvError } from "csv-parse";
import { parse } from "csv-parse/sync";
import { AppError, type FieldError } from "../../platform/errors.ts";
import { topicKey } from "../topics/topics.schema.ts";

const FIELDS = ["email", "externalId", "name", "locale", "timezone", "persona"] as const;
type Field = (typeof FIELDS)[number];

export type CsvColumn =
  | { kind: "field"; field: Field }
  | { kind: "attribute"; path: string[] }
  | { kind: "consent"; topic: string }
  | { kind: "consentSource" }
  | { kind: "consentProof" };

export interface ParsedCsv {
  header: string[];
  columns: CsvColumn[];
  records: string[][];
}

const HELP = "use email, externalId, name, locale, timezone, persona, attributes.<name>, consent.<topicKey>, consent_source, consent_proof";
// Attribute path segments refused in headers: every name an empty object already answers to
// (Object.prototype's members: toString, valueOf, __proto__, constructor, ...) plus "prototype".
// Code that walks such a segment as a property (`node[p] ??= {}`) reaches a shared built-in: a
// header attributes.toString.call would rewrite Object.prototype.toString.call in the whole process.
// setPath below only follows own properties; refusing the names keeps every other reader safe too.
const FORBIDDEN = new Set([...Object.getOwnPropertyNames(Object.prototype), "__proto__", "constructor", "prototype"]);

function column(name: string): CsvColumn | string {
  if ((FIELDS as readonly string[]).includes(name)) return { kind: "field", field: name as Field };
  if (name === "consent_source") return { kind: "consentSource" };
  if (name === "consent_proof") return { kind: "consentProof" };
  if (name.startsWith("attributes.")) {
    const path = name.slice("attributes.".length).split(".");
    if (path.some((p) => p === "" || p.length > 200)) return `Invalid attribute column '${name}'`;
    const bad = path.find((p) => FORBIDDEN.has(p));
    if (bad !== undefined) return `Invalid attribute column '${name}': '${bad}' is a reserved name`;
    return { kind: "attribute", path };
  }
  if (name.startsWith("consent.")) {
    const topic = name.slice("consent.".length);
    if (!topicKey.safeParse(topic).success) return `Invalid topic key in column '${name}'`;
    return { kind: "consent", topic };
  }
  return `Unknown column '${name}' (${HELP})`;
}

// Far more than any real customer file; bounds the header checks and each row's object.
const MAX_COLUMNS = 1000;

/** Checks the header row (400 on unknown, duplicate or clashing columns, or no email column). */
export function readHeader(header: string[]): CsvColumn[] {
  if (header.length > MAX_COLUMNS) {
    throw new AppError("validation", `The CSV header has ${header.length} columns; at most ${MAX_COLUMNS} are allowed`, {
      errors: [{ path: "header", message: `At most ${MAX_COLUMNS} columns` }],
    });
  }
  const errors: FieldError[] = [];
  const columns: CsvColumn[] = [];
  const seen = new Set<string>();
  header.forEach((name, i) => {
    const c = column(name);
    if (typeof c === "string") errors.push({ path: `header.${i + 1}`, message: c });
    else if (seen.has(name)) errors.push({ path: `header.${i + 1}`, message: `Column '${name}' appears twice` });
    else columns.push(c);
    seen.add(name);
  });
  // "attributes.a" next to "attributes.a.b" cannot both hold: one is a value, the other an object.
  // Every proper prefix of every path in one set: linear in the header, not quadratic.
  const attrs = columns.flatMap((c) => (c.kind === "attribute" ? [c.path] : []));
  const parents = new Set(attrs.flatMap((p) => p.slice(1).map((_, i) => p.slice(0, i + 1).join("."))));
  for (const a of attrs.map((p) => p.join("."))) {
    if (parents.has(a)) errors.push({ path: "header", message: `Column 'attributes.${a}' clashes with a nested attribute column` });
  }
  if (!header.includes("email")) errors.push({ path: "header", message: "The header has no 'email' column" });
  if (errors.length) throw new AppError("validation", `The CSV header is invalid: ${errors.map((e) => e.message).join("; ")}`, { errors });
  return columns;
}

/**
 * Parses the file; malformed CSV (e.g. an unclosed quote) is a 400 naming the line. With maxRecords,
 * parsing stops one data record past it, so an oversized file costs no more than a full-sized one.
 */
export function parseCsv(text: string, maxRecords?: number): ParsedCsv {
  let rows: string[][];
  try {
    rows = parse(text, {
      bom: true, skip_empty_lines: true, relax_column_count: true, trim: true,
      ...(maxRecords ? { to: maxRecords + 2 } : {}),
    }) as string[][];
  } catch (err) {
    if (err instanceof CsvError) {
      const line = (err as CsvError & { lines?: number }).lines;
      throw new AppError("validation", `The CSV is malformed${line ? ` near line ${line}` : ""}: ${err.message}`, {
        errors: [{ path: line ? `line.${line}` : "", message: err.message }],
      });
    }
    throw err;
  }
  if (rows.length === 0) throw new AppError("validation", "The CSV is empty: send a header row and at least one data row");
  const [header, ...records] = rows;
  const columns = readHeader(header);
  // A header alone would queue a job with nothing to do and report a "completed" import of 0 rows.
  if (records.length === 0) throw new AppError("validation", "The CSV has no data rows: send at least one customer after the header row");
  return { header, columns, records };
}

export interface CsvRowInput {
  input: Record<string, unknown>;
  /** Maps a path inside `input` back to the column the user wrote. */
  fieldOf(path: PropertyKey[]): string;
  /** Set when the record does not have one cell per column. */
  shapeError?: string;
}

/**
 * Sets root.a.b.c = value, creating plain objects on the way. Only own properties are followed and
 * new ones are defined (not assigned), so no segment can reach or replace a prototype even if a
 * reserved name got past readHeader (e.g. a header stored before the list grew).
 */
function setPath(root: Record<string, unknown>, path: string[], value: string): void {
  let node = root;
  for (const p of path.slice(0, -1)) {
    if (!Object.hasOwn(node, p)) define(node, p, {});
    const next = node[p];
    // readHeader refuses "a" next to "a.b"; a stored input cannot contain them either.
    if (typeof next !== "object" || next === null) throw new Error(`Attribute path '${path.join(".")}' crosses a value`);
    node = next as Record<string, unknown>;
  }
  define(node, path[path.length - 1], value);
}

const define = (o: object, key: string, value: unknown) =>
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });

/** Turns one record into the same shape as a JSON import row, so one schema validates both. */
export function csvRowInput(columns: CsvColumn[], record: string[]): CsvRowInput {
  const input: Record<string, unknown> = {};
  const attributes: Record<string, unknown> = {};
  const consents: Array<{ topic: string; status: string; source?: string; proof?: string }> = [];
  let source: string | undefined;
  let proof: string | undefined;
  columns.forEach((c, i) => {
    const v = record[i];
    if (v === undefined || v === "") return;
    if (c.kind === "field") input[c.field] = v;
    else if (c.kind === "consentSource") source = v;
    else if (c.kind === "consentProof") proof = v;
    else if (c.kind === "consent") consents.push({ topic: c.topic, status: v });
    else setPath(attributes, c.path, v);
  });
  if (Object.keys(attributes).length) input.attributes = attributes;
  if (consents.length) input.consents = consents.map((c) => ({ ...c, ...(source ? { source } : {}), ...(proof ? { proof } : {}) }));
  const fieldOf = (path: PropertyKey[]): string => {
    if (path[0] !== "consents") return path.map(String).join(".");
    if (path.length < 2) return "consent";
    const k = path[2];
    return k === "source" ? "consent_source" : k === "proof" ? "consent_proof" : `consent.${consents[Number(path[1])]?.topic}`;
  };
  const shapeError =
    record.length !== columns.length ? `Expected ${columns.length} columns, found ${record.length}` : undefined;
  return { input, fieldOf, shapeError };
}
