// The checks an import upload gets while it streams to storage, without parsing it: one pass over
// the bytes, constant memory, a few comparisons per byte. What needs a parser (valid JSON, the
// fields of each row, CSV quoting rules beyond balanced quotes) is the job's (see materialise.ts).
//   CSV: the header (read from the first record, checked like before: 400), balanced quotes at the
//        end (400), the number of data records (none: 400; over the limit: 413).
//   JSON: a top-level object, nesting at most 32 deep (400), the number of elements of the array in
//        it (`customers`; none: 400; over the limit: 413).
import { parse } from "csv-parse/sync";
import { AppError } from "../../platform/errors.ts";
import { readHeader } from "./csv.ts";
import { MAX_IMPORT_ROWS } from "./imports.schema.ts";

export interface UploadScanner {
  /** Throws an AppError (400) as soon as the bytes so far are refused. */
  push(chunk: Buffer): void;
  /** Throws an AppError (400/413) when the whole body is refused; else the number of rows seen. */
  end(): number;
  /** Rows seen so far (over the limit: stop storing, keep counting for the message). */
  readonly rows: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LF = 0x0a;
const CR = 0x0d;
const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === LF || c === CR;
// Far longer than a 1,000-column header of reasonable names; bounds what is held to check it.
const MAX_HEADER_BYTES = 1024 * 1024;
const MAX_DEPTH = 32;

export const tooManyRows = (n: number) =>
  new AppError("payload_too_large", `An import holds at most ${MAX_IMPORT_ROWS} rows; this one has ${n}. Split it into several imports.`);

export function csvScanner(): UploadScanner {
  let inQuote = false;
  let header: Buffer[] | null = []; // the first record's bytes until it is complete, then null
  let headerBytes = 0;
  let content = false; // the current record has a non-blank byte
  let seen = 0; // bytes so far (a UTF-8 BOM at the start is not content)
  let line = 1;
  let rows = 0;
  const endRecord = (tail: Buffer) => {
    if (!content) return;
    content = false;
    if (!header) return void rows++;
    const text = Buffer.concat([...header, tail]).toString("utf8");
    header = null;
    const [first] = parse(text, { bom: true, trim: true, relax_column_count: true, skip_empty_lines: true, to: 1 }) as string[][];
    readHeader(first ?? []);
  };
  return {
    get rows() {
      return rows;
    },
    push(chunk) {
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i];
        if (c === LF) line++;
        if (c === QUOTE) inQuote = !inQuote;
        else if ((c === LF || c === CR) && !inQuote) {
          endRecord(header ? chunk.subarray(0, i) : chunk);
          continue;
        }
        if (!content && !isSpace(c) && !(seen + i < 3 && c >= 0xbb)) content = true;
      }
      seen += chunk.length;
      if (header) {
        header.push(chunk);
        headerBytes += chunk.length;
        if (headerBytes > MAX_HEADER_BYTES) {
          throw new AppError("validation", "The CSV header row is longer than 1 MB", { errors: [{ path: "header", message: "Header too long" }] });
        }
      }
    },
    end() {
      if (inQuote) {
        const message = "a quoted field is not closed";
        throw new AppError("validation", `The CSV is malformed near line ${line}: ${message}`, { errors: [{ path: `line.${line}`, message }] });
      }
      endRecord(Buffer.alloc(0));
      if (header) throw new AppError("validation", "The CSV is empty: send a header row and at least one data row");
      if (rows === 0) throw new AppError("validation", "The CSV has no data rows: send at least one customer after the header row");
      if (rows > MAX_IMPORT_ROWS) throw tooManyRows(rows);
      return rows;
    },
  };
}

export function jsonScanner(): UploadScanner {
  let inString = false;
  let escaped = false;
  let depth = 0;
  let started = false;
  let arrayAtTwo = false;
  let expectElement = false;
  let rows = 0;
  const refuse = (message: string, path = "") => new AppError("validation", message, { errors: [{ path, message }] });
  return {
    get rows() {
      return rows;
    },
    push(chunk) {
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i];
        if (inString) {
          if (escaped) escaped = false;
          else if (c === BACKSLASH) escaped = true;
          else if (c === QUOTE) inString = false;
          continue;
        }
        if (isSpace(c)) continue;
        if (!started) {
          started = true;
          if (c !== 0x7b) throw refuse("Send a JSON object: {\"customers\": [...]}");
        }
        if (depth === 2 && arrayAtTwo) {
          if (c === 0x2c) expectElement = true;
          else if (c !== 0x5d && expectElement) {
            rows++;
            expectElement = false;
          }
        }
        if (c === QUOTE) inString = true;
        else if (c === 0x7b || c === 0x5b) {
          if (++depth > MAX_DEPTH) throw refuse(`JSON may not be nested deeper than ${MAX_DEPTH} levels`);
          if (depth === 2) {
            arrayAtTwo = c === 0x5b;
            expectElement = arrayAtTwo;
          }
        } else if (c === 0x7d || c === 0x5d) depth--;
      }
    },
    end() {
      if (!started) throw refuse("The request body is empty");
      if (rows === 0) throw refuse("The import has no rows", "customers");
      if (rows > MAX_IMPORT_ROWS) throw tooManyRows(rows);
      return rows;
    },
  };
}
