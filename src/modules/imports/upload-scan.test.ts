import { describe, expect, it } from "vitest";
import { appError } from "../../../test/support/app-error.ts";
import { csvScanner, jsonScanner, type UploadScanner } from "./upload-scan.ts";

/** Feeds text in pieces of `size` bytes (so every boundary lands inside records and strings). */
function scan(s: UploadScanner, text: string, size = 3): number {
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += size) s.push(buf.subarray(i, i + size));
  return s.end();
}

describe("upload scan", () => {
  it("when a CSV streams in small pieces, then data records are counted with quoted newlines, CRLF and blank lines", () => {
    expect(scan(csvScanner(), '\uFEFFemail,name\r\na@x.co,"Ann\nSmith"\r\n\r\nb@x.co,Bob\n\nc@x.co,"C, ""Jr"""')).toBe(3);
    expect(scan(csvScanner(), "email\na@x.co\n", 1)).toBe(1);
  });

  it("when the CSV header is wrong, unquoted or empty, then 400 with the same messages as before", () => {
    expect(appError(() => scan(csvScanner(), "mail,shoe\nx,1\n")).message).toMatch(/Unknown column 'mail'/);
    expect(appError(() => scan(csvScanner(), 'email,name\na@x.co,"Ann\nb@x.co,Bob\n')).message).toMatch(/malformed near line/);
    expect(appError(() => scan(csvScanner(), "email,name\r\n\r\n")).message).toMatch(/no data rows/);
    expect(appError(() => scan(csvScanner(), "")).message).toMatch(/empty/);
  });

  it("when the CSV header is refused, then push throws before the rest of the body is seen", () => {
    const s = csvScanner();
    expect(() => s.push(Buffer.from("email,bogus\na@x.co,1\n"))).toThrow(/Unknown column 'bogus'/);
  });

  it("when a JSON import streams in small pieces, then the customers are counted whatever their strings hold", () => {
    expect(scan(jsonScanner(), '{"customers":[{"email":"a,]}[{\\"x"},{"email":"b","attributes":{"a":[1,2,{"b":[3]}]}}, "x" ]}')).toBe(3);
    for (const size of [1, 2, 5]) expect(scan(jsonScanner(), String.raw`{"customers":[{"a":"x\\"},{"b":"\"],"},"\\\"{"]}`, size)).toBe(3);
    expect(appError(() => scan(jsonScanner(), '{"customers":[]}')).message).toMatch(/no rows/);
    expect(appError(() => scan(jsonScanner(), "[1,2]")).status).toBe(400);
    expect(appError(() => scan(jsonScanner(), `{"customers":[{"a":${"[".repeat(40)}${"]".repeat(40)}}]}`)).message).toMatch(/nested deeper/);
  });

  it("when there are more than 10,000 rows, then 413 with the count", () => {
    const rows = Array.from({ length: 10_001 }, (_, i) => `{"email":"r${i}@x.co"}`).join(",");
    const e = appError(() => scan(jsonScanner(), `{"customers":[${rows}]}`, 4096));
    expect(e.status).toBe(413);
    expect(e.message).toMatch(/this one has 10001/);
  });
});
