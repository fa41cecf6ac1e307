import { describe, expect, it } from "vitest";
import { isUuid, newId } from "./ids.ts";

describe("ids", () => {
  it("when many ids are made across refills of the random pool, then each is a distinct UUIDv7 in time order", () => {
    const ids = Array.from({ length: 1000 }, (_, i) => newId(1_700_000_000_000 + i));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(isUuid(id)).toBe(true);
      expect(id[14]).toBe("7");
      expect("89ab").toContain(id[19]);
    }
    expect([...ids].sort()).toEqual(ids);
    // The random part differs from one id to the next, also across a refill (256 ids per 4 KB).
    const tails = new Set(ids.map((id) => id.slice(19)));
    expect(tails.size).toBe(ids.length);
  });
});
