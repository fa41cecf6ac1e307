// Validation of one page of import rows, in JS plus a few batched look-ups: which rows will be
// written (and how) and exactly which rows fail, with the field and the reason.
import type { z } from "zod";
import { newId } from "../../platform/ids.ts";
import { addressHash, newDataKey } from "../../platform/secrets.ts";
import { storableValue } from "../../platform/storable.ts";
import { addressKey, normaliseEmail } from "../customers/email.ts";
import { csvRowInput, readHeader, type ParsedCsv } from "./csv.ts";
import { externalIdHolders, personaIds, topicIds, type CustomerUpsert, type ImportFormat, type RowError } from "./imports.repository.ts";
import { importRowSchema, type ImportRow } from "./imports.schema.ts";

export interface RawRow {
  input: unknown;
  fieldOf(path: PropertyKey[]): string;
  shapeError?: string;
}

/** What imports.input holds: JSON text in both formats (a CSV is stored parsed, see materialise.ts). */
export function storedInput(parsed: { format: "json"; rows: unknown[] } | { format: "csv"; csv: ParsedCsv }): string {
  return parsed.format === "json" ? JSON.stringify(parsed.rows) : JSON.stringify({ header: parsed.csv.header, records: parsed.csv.records });
}

interface StoredCsv {
  header: string[];
  records: Array<string[] | typeof ERASED_ROW>;
}

// What scrubInput leaves in place of a row whose customer was erased while the import was pending.
// The row keeps its place (it is not spliced out), so row numbers still match the user's file and
// `processed` still indexes the stored rows a resumed job skips. A JSON row could spell the same
// object; it would only be reported as this row error instead of a validation error.
const ERASED_ROW = { $erased: true } as const;
const ERASED_MESSAGE = "Not imported: the customer was erased while this import was waiting";
const isErased = (r: unknown): boolean =>
  typeof r === "object" && r !== null && !Array.isArray(r) && Object.keys(r).length === 1 && (r as { $erased?: unknown }).$erased === true;

const jsonFieldOf = (p: PropertyKey[]) => p.map(String).join(".");

/** The stored input, row by row. */
export function openRows(format: ImportFormat, input: string): RawRow[] {
  if (format === "json") {
    const rows = JSON.parse(input) as unknown[];
    return rows.map((r) => ({ input: r, fieldOf: jsonFieldOf, ...(isErased(r) ? { shapeError: ERASED_MESSAGE } : {}) }));
  }
  const csv = JSON.parse(input) as StoredCsv;
  const columns = readHeader(csv.header);
  return csv.records.map((rec) =>
    Array.isArray(rec) ? csvRowInput(columns, rec) : { input: null, fieldOf: jsonFieldOf, shapeError: ERASED_MESSAGE },
  );
}

/**
 * The stored input with every row whose email `erased` names replaced by a tombstone; null when no
 * row is. `erased` gets each row's email as written (compare by addressKey).
 */
export function scrubInput(format: ImportFormat, input: string, erased: (email: string) => boolean): string | null {
  const names = (email: unknown) => typeof email === "string" && erased(email);
  let scrubbed = 0;
  const scrub = <T>(row: T, email: unknown): T | typeof ERASED_ROW => (names(email) ? (scrubbed++, ERASED_ROW) : row);
  let out: string;
  if (format === "json") {
    const rows = JSON.parse(input) as unknown[];
    out = JSON.stringify(rows.map((r) => (typeof r === "object" && r !== null ? scrub(r, (r as { email?: unknown }).email) : r)));
  } else {
    const csv = JSON.parse(input) as StoredCsv;
    const at = csv.header.indexOf("email");
    out = JSON.stringify({ ...csv, records: csv.records.map((r) => (Array.isArray(r) ? scrub(r, r[at]) : r)) });
  }
  return scrubbed ? out : null;
}

export interface PlannedConsent {
  topicId: string;
  status: "opted_in" | "opted_out";
  source: string;
  proof: string | null;
}

export interface PlannedRow {
  row: number;
  upsert: CustomerUpsert;
  consents: PlannedConsent[];
}

export interface PagePlan {
  rows: PlannedRow[];
  errors: RowError[];
  failed: number;
  /** Records this page's emails and externalIds as taken; call once the page is committed. */
  commit(): void;
}

function issueErrors(row: number, raw: RawRow, error: z.ZodError): RowError[] {
  return error.issues.map((i) => {
    const keys = i.code === "unrecognized_keys" ? (i as { keys: string[] }).keys.join(",") : "";
    const field = raw.fieldOf(i.path) || keys || undefined;
    return { row, ...(field ? { field } : {}), message: i.message };
  });
}

/**
 * Duplicates inside one import: the first valid occurrence of an email (or externalId) is imported,
 * later ones are row errors naming it. Deterministic, and created + updated + failed = total.
 */
export class ImportPlanner {
  private emails = new Map<string, number>();
  private externalIds = new Map<string, number>();
  private personas = new Map<string, string | null>();
  private topics = new Map<string, string | null>();

  private async resolve(cache: Map<string, string | null>, keys: Iterable<string>, load: typeof personaIds) {
    const missing = [...new Set(keys)].filter((k) => !cache.has(k));
    const found = await load(missing);
    for (const k of missing) cache.set(k, found.get(k) ?? null);
  }

  /** `first` is the 0-based index of the page's first row (rows are reported 1-based). */
  async plan(first: number, raws: RawRow[]): Promise<PagePlan> {
    const errors: RowError[] = [];
    // email: what is stored; key: what uniqueness compares (Bob@x.com and bob@X.com are one customer).
    const valid: Array<{ row: number; raw: RawRow; data: ImportRow; email: string; key: string }> = [];
    raws.forEach((raw, i) => {
      const row = first + i + 1;
      if (raw.shapeError) return void errors.push({ row, message: raw.shapeError });
      const r = importRowSchema.safeParse(raw.input);
      if (!r.success) return void errors.push(...issueErrors(row, raw, r.error));
      // Caught here, a value PostgreSQL cannot store is this row's error, not the page's failure.
      if (!storableValue(r.data)) return void errors.push({ row, message: "The row contains a NUL character or an unpaired surrogate" });
      valid.push({ row, raw, data: r.data, email: normaliseEmail(r.data.email), key: addressKey(r.data.email) });
    });

    await this.resolve(this.personas, valid.flatMap((v) => (v.data.persona ? [v.data.persona] : [])), personaIds);
    await this.resolve(this.topics, valid.flatMap((v) => (v.data.consents ?? []).map((c) => c.topic)), topicIds);
    const holders = await externalIdHolders([...new Set(valid.flatMap((v) => (v.data.externalId ? [v.data.externalId] : [])))]);

    const rows: PlannedRow[] = [];
    const claims: Array<[Map<string, number>, string, number]> = [];
    const pageEmails = new Map<string, number>();
    const pageExternal = new Map<string, number>();
    for (const { row, raw, data, email, key } of valid) {
      const before = errors.length;
      const fail = (path: PropertyKey[], message: string) => errors.push({ row, field: raw.fieldOf(path), message });
      if (data.persona && !this.personas.get(data.persona)) fail(["persona"], `Unknown persona '${data.persona}'`);
      (data.consents ?? []).forEach((c, i) => {
        if (!this.topics.get(c.topic)) fail(["consents", i, "topic"], `Unknown topic '${c.topic}'`);
      });
      const ext = data.externalId;
      if (ext && holders.has(ext)) {
        const holder = holders.get(ext);
        if (holder == null || addressKey(holder) !== key) fail(["externalId"], "This externalId belongs to another customer");
      }
      if (errors.length > before) continue;
      const dupOf = this.emails.get(key) ?? pageEmails.get(key);
      if (dupOf !== undefined) {
        fail(["email"], `Duplicate of row ${dupOf} in this import (the first occurrence is imported)`);
        continue;
      }
      const extOf = ext ? (this.externalIds.get(ext) ?? pageExternal.get(ext)) : undefined;
      if (extOf !== undefined) {
        fail(["externalId"], `This externalId is already used by row ${extOf} in this import`);
        continue;
      }
      pageEmails.set(key, row);
      claims.push([this.emails, key, row]);
      if (ext) {
        pageExternal.set(ext, row);
        claims.push([this.externalIds, ext, row]);
      }
      rows.push({
        row,
        upsert: {
          id: newId(),
          email,
          emailHash: addressHash(key),
          externalId: ext ?? null,
          name: data.name ?? null,
          locale: data.locale ?? null,
          timezone: data.timezone ?? null,
          attributes: data.attributes ? JSON.stringify(data.attributes) : null,
          personaId: data.persona ? this.personas.get(data.persona)! : null,
          dataKey: newDataKey(),
        },
        consents: (data.consents ?? []).map((c) => ({
          topicId: this.topics.get(c.topic)!,
          status: c.status,
          source: c.source,
          proof: c.proof ?? null,
        })),
      });
    }
    errors.sort((a, b) => a.row - b.row);
    return {
      rows,
      errors,
      failed: new Set(errors.map((e) => e.row)).size,
      commit: () => claims.forEach(([map, key, row]) => map.set(key, row)),
    };
  }
}
