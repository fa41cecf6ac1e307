import { addressKey } from "../customers/email.ts";
import { describe, expect, it } from "vitest";
import { appError } from "../../../test/support/app-error.ts";
import { csvRowInput, parseCsv, readHeader, type CsvColumn } from "./csv.ts";
import { openRows, scrubInput } from "./import-rows.ts";

describe("CSV attribute columns", () => {
  it("when a header path names an Object.prototype member or prototype, then it is refused as invalid", () => {
    for (const path of ["toString.call", "__proto__.polluted", "a.constructor.prototype", "hasOwnProperty", "x.valueOf", "prototype", "__defineGetter__"]) {
      const err = appError(() => readHeader(["email", `attributes.${path}`]));
      expect(err.status).toBe(400);
      expect(err.errors?.[0]).toEqual({ path: "header.2", message: expect.stringMatching(/reserved name/) });
    }
    expect(readHeader(["email", "attributes.toStringy", "attributes.my_constructor.x"])).toHaveLength(3);
  });

  it("when a nested column reaches csvRowInput with a member name, then only own plain properties are written", () => {
    const original = Object.prototype.toString.call;
    // Forged columns: as if the header check were bypassed (e.g. an input stored by an older version).
    const columns: CsvColumn[] = [
      { kind: "field", field: "email" },
      { kind: "attribute", path: ["toString", "call"] },
      { kind: "attribute", path: ["__proto__", "polluted"] },
      { kind: "attribute", path: ["address", "city"] },
    ];
    try {
      const { input } = csvRowInput(columns, ["a@example.org", "boom", "yes", "Lyon"]);
      expect(Object.prototype.toString.call).toBe(original);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      const attributes = input.attributes as Record<string, unknown>;
      expect(Object.getPrototypeOf(attributes)).toBe(Object.prototype);
      expect(Object.hasOwn(attributes, "toString") && Object.hasOwn(attributes, "__proto__")).toBe(true);
      expect(JSON.parse(JSON.stringify(attributes))).toEqual(JSON.parse('{"toString":{"call":"boom"},"__proto__":{"polluted":"yes"},"address":{"city":"Lyon"}}'));
    } finally {
      // Undo a pollution so that one failing assertion does not break every later test.
      if (Object.hasOwn(Object.prototype.toString, "call")) delete (Object.prototype.toString as { call?: unknown }).call;
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
  });
});

describe("CSV without data", () => {
  it("when the CSV has a header row only, then 400 says it has no data rows", () => {
    for (const text of ["email,name\n", "email\r\n\r\n\r\n"]) {
      const err = appError(() => parseCsv(text, 10));
      expect(err.status).toBe(400);
      expect(err.message).toMatch(/the CSV has no data rows/i);
    }
  });
});

describe("scrubbing a stored input", () => {
  it("when rows name the address in any case, then they become tombstones in place and open as row errors", () => {
    const erin = (e: string) => addressKey(e) === "erin@example.org";
    const json = JSON.stringify([{ email: " Erin@Example.org " }, { email: "other@example.org" }, { email: "erin@EXAMPLE.ORG", name: "E" }, null]);
    const out = scrubInput("json", json, erin)!;
    expect(out.toLowerCase()).not.toContain("erin");
    const rows = openRows("json", out);
    expect(rows).toHaveLength(4);
    expect(rows.map((r) => r.shapeError !== undefined)).toEqual([true, false, true, false]);
    expect(scrubInput("json", out, erin)).toBeNull();

    const csv = JSON.stringify({ header: ["name", "email"], records: [["Erin", "ERIN@example.org"], ["O", "o@example.org"]] });
    const scrubbed = scrubInput("csv", csv, erin)!;
    expect(scrubbed.toLowerCase()).not.toContain("erin");
    expect(openRows("csv", scrubbed).map((r) => r.shapeError)).toEqual([expect.stringMatching(/erased/), undefined]);
  });
});
