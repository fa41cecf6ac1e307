import { describe, expect, it } from "vitest";
import { storableText, storableValue } from "./storable.ts";

describe("storable", () => {
  it("when text holds NUL or an unpaired surrogate, then it is not storable; pairs and look-alike text are", () => {
    expect(["a\u0000b", "x\ud800y", "\udc00", "end\ud83d"].map(storableText)).toEqual([false, false, false, false]);
    expect(["plain", "emoji \u{1F600}", "\\u0000 as text"].map(storableText)).toEqual([true, true, true]);
  });
  it("when a nested value holds one anywhere, keys included, then the value is not storable", () => {
    expect(storableValue({ a: { b: ["ok", "n\u0000"] } })).toBe(false);
    expect(storableValue({ ["k\ud800"]: 1 })).toBe(false);
    expect(storableValue({ a: "\\u0000 is text", b: "\\\\\u0000" })).toBe(false);
    expect(storableValue({ a: "\\u0000 is text", mood: "\u{1F600}", n: 1 })).toBe(true);
  });
});
