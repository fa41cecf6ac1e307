// First step of an import job whose upload is still raw (import_chunks): parse it, check what the
// upload could not (valid JSON of the documented shape, CSV syntax, the row limit), leave out rows
// of customers erased meanwhile, and store it as rows (imports.input), all under the import's row
// lock. Bounded by BODY_LIMIT: the largest upload is parsed once, here, never in a request.
import { AppError } from "../../platform/errors.ts";
import { addressHash } from "../../platform/secrets.ts";
import { withTransaction } from "../../platform/sql.ts";
import { addressKey } from "../customers/email.ts";
import { parseCsv } from "./csv.ts";
import { scrubInput, storedInput } from "./import-rows.ts";
import * as repo from "./imports.repository.ts";
import { jsonImportSchema, MAX_IMPORT_ROWS } from "./imports.schema.ts";
import { tooManyRows } from "./upload-scan.ts";

function parse(format: repo.ImportFormat, text: string): { input: string; total: number } {
  if (format === "csv") {
    const csv = parseCsv(text, MAX_IMPORT_ROWS);
    if (csv.records.length > MAX_IMPORT_ROWS) throw tooManyRows(csv.records.length);
    return { input: storedInput({ format, csv }), total: csv.records.length };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AppError("validation", `The import is not valid JSON: ${(err as Error).message}`);
  }
  const r = jsonImportSchema.safeParse(value);
  if (!r.success) {
    throw new AppError("validation", "The import is not {customers: [...]}", {
      errors: r.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })),
    });
  }
  const rows = r.data.customers;
  if (rows.length > MAX_IMPORT_ROWS) throw tooManyRows(rows.length);
  return { input: storedInput({ format, rows }), total: rows.length };
}

/**
 * Parses a raw import into its rows. Returns the errors of the whole import when it is refused (the
 * caller fails it, reported on GET /v1/imports/{id} as row 0), else null (also when it was not raw).
 */
export async function materialise(importId: string): Promise<repo.RowError[] | null> {
  return withTransaction(async (client) => {
    const raw = await repo.lockRaw(client, importId);
    if (!raw) return null;
    const text = Buffer.concat(await repo.readChunks(client, importId)).toString("utf8");
    let parsed: { input: string; total: number };
    try {
      parsed = parse(raw.format, text);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      const fields = err.errors ?? [];
      return fields.length
        ? fields.map((f) => ({ row: 0, ...(f.path ? { field: f.path } : {}), message: `${err.message}: ${f.message}` }))
        : [{ row: 0, message: err.message }];
    }
    if (raw.erased.length) {
      const erased = new Set(raw.erased);
      parsed.input = scrubInput(raw.format, parsed.input, (email) => erased.has(addressHash(addressKey(email)))) ?? parsed.input;
    }
    await repo.storeParsed(client, importId, parsed.input, parsed.total);
    return null;
  });
}
