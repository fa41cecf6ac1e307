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

/** Backslashes right before buf[at] (an odd count escapes it); only within this chunk. */
function backslashesBefore(buf: Buffer, at: number, from: number): number {
  let n = 0;
  while (at - 1 - n >= from && buf[at - 1 - n] === BACKSLASH) n++;
  return n;
}

/**
 * Records end at a line feed outside quotes (LF or CRLF line breaks); a line that is empty (or only
 * "\r") is not a record. The search for quotes and line feeds is native (Buffer.indexOf): a chunk
 * of 64 KB costs microseconds, so uploads never hold the event loop.
 */
export function csvScanner(): UploadScanner {
  let inQuote = false;
  let header: Buffer[] | null = []; // the first record's bytes until it is complete, then null
  let headerBytes = 0;
  let lineBytes = 0; // bytes of the current line so far, "\r" and a leading BOM not counted
  let seen = 0;
  let line = 1;
  let rows = 0;
  const endRecord = (tail: Buffer) => {
    const content = lineBytes > 0;
    lineBytes = 0;
    if (!content) return;
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
      let i = 0;
      // A UTF-8 BOM opening the body is not content.
      if (seen === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3;
      while (i < chunk.length) {
        if (inQuote) {
          const q = chunk.indexOf(QUOTE, i);
          const end = q < 0 ? chunk.length : q + 1;
          for (let lf = chunk.indexOf(LF, i); lf >= 0 && lf < end; lf = chunk.indexOf(LF, lf + 1)) line++;
          lineBytes += end - i;
          if (q >= 0) inQuote = false;
          i = end;
          continue;
        }
        const q = chunk.indexOf(QUOTE, i);
        const lf = chunk.indexOf(LF, i);
        if (lf >= 0 && (q < 0 || lf < q)) {
          lineBytes += lf - i - (lf > i && chunk[lf - 1] === CR ? 1 : 0);
          line++;
          endRecord(header ? chunk.subarray(0, lf) : chunk);
          i = lf + 1;
        } else if (q >= 0) {
          lineBytes += q + 1 - i;
          inQuote = true;
          i = q + 1;
        } else {
          lineBytes += chunk.length - i - (chunk[chunk.length - 1] === CR ? 1 : 0);
          i = chunk.length;
        }
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
        if (inString) {
          if (escaped) {
            escaped = false; // this byte was escaped by a backslash ending the previous chunk
            continue;
          }
          // Native search for the closing quote; one after an odd run of backslashes is escaped.
          let q = chunk.indexOf(QUOTE, i);
          while (q >= 0 && backslashesBefore(chunk, q, i) % 2 === 1) q = chunk.indexOf(QUOTE, q + 1);
          if (q < 0) {
            escaped = backslashesBefore(chunk, chunk.length, i) % 2 === 1;
            i = chunk.length;
            continue;
          }
          inString = false;
          i = q;
          continue;
        }
        const c = chunk[i];
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
