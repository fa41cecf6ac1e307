import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { chainRows, rowHash, verifyChain, type ChainedRow, type StoredRow } from "./ledger-chain.ts";

const row = (i: number, customerId = "c1"): ChainedRow => ({
  customerId, topicId: `t${i % 2}`, channel: "email", action: "opted_in", status: "opted_in", source: "signup-form",
  wording: i % 2 ? null : "News", proofEnc: `enc${i}`, ipEnc: null, userAgentEnc: null, actor: "customer", createdAt: new Date(1_700_000_000_000 + i),
});

/** Rows as stored: ids in order, hashes chained per customer from empty heads. */
const stored = (rows: ChainedRow[], heads = new Map<string, Buffer | null>()): StoredRow[] =>
  chainRows(rows, heads).map((r, i) => ({ ...r, id: String(i + 10) }));

describe("consent ledger chain", () => {
  it("when rows are chained, then each links to the customer's previous row and the chain verifies", () => {
    const heads = new Map<string, Buffer | null>();
    const rows = chainRows([row(1), row(2, "c2"), row(3)], heads);
    expect(rows[0].prevHash).toBeNull();
    expect(rows[1].prevHash).toBeNull();
    expect(rows[2].prevHash!.equals(rows[0].hash)).toBe(true);
    expect(heads.get("c1")!.equals(rows[2].hash)).toBe(true);
    expect(verifyChain(stored([row(1), row(2), row(3)]))).toEqual({ valid: true, checked: 3, unchained: 0 });
  });

  it("when a stored value changes (a null becomes a string, or a ciphertext), then that row is named", () => {
    const rows = stored([row(1), row(2), row(3)]);
    expect(verifyChain(rows.map((r, i) => (i === 1 ? { ...r, wording: "null" } : r))).firstInvalid?.id).toBe("11");
    expect(verifyChain(rows.map((r, i) => (i === 2 ? { ...r, proofEnc: "other" } : r))).firstInvalid?.id).toBe("12");
    expect(verifyChain(rows.map((r, i) => (i === 0 ? { ...r, createdAt: new Date(0) } : r))).firstInvalid?.id).toBe("10");
  });

  it("when the first or a middle row is removed, or a row without a hash slips in, then the row after it is named", () => {
    const rows = stored([row(1), row(2), row(3)]);
    expect(verifyChain(rows.slice(1)).firstInvalid?.id).toBe("11");
    expect(verifyChain([rows[0], rows[2]]).firstInvalid?.id).toBe("12");
    expect(verifyChain([rows[0], { ...rows[1], hash: null, prevHash: null }, rows[2]]).firstInvalid?.id).toBe("11");
  });

  it("when rows written before the chain existed come first, then they are counted as unchained and the chain starts after them", () => {
    const legacy: StoredRow[] = [{ ...row(0), id: "1", hash: null, prevHash: null }];
    expect(verifyChain([...legacy, ...stored([row(1), row(2)])])).toEqual({ valid: true, checked: 2, unchained: 1 });
  });

  it("when the encoding could be ambiguous (values shifting between fields), then the hashes differ", () => {
    const a = { ...row(1), source: "a|b", wording: "c" };
    const b = { ...row(1), source: "a", wording: "b|c" };
    expect(rowHash(a, null).equals(rowHash(b, null))).toBe(false);
  });

  it("when a customer-wide row (cadence, pause) carries a value, then the value is hashed, and rows without one hash as before the column existed", () => {
    const plain = row(1);
    // A row without a value hashes exactly as it did before `value` existed (old chains stay valid).
    const before = createHash("sha256").update(JSON.stringify([
      "consent-ledger-v1", null, plain.customerId, plain.topicId, plain.channel, plain.action, plain.status, plain.source, plain.wording,
      plain.proofEnc, plain.ipEnc, plain.userAgentEnc, plain.actor, plain.createdAt.getTime(),
    ])).digest();
    expect(rowHash({ ...plain, value: null }, null).equals(before)).toBe(true);
    expect(rowHash(plain, null).equals(before)).toBe(true);
    const wide: ChainedRow = { ...plain, topicId: null, status: null, action: "cadence_changed", value: "monthly" };
    const rows = stored([row(0), wide, row(2)]);
    expect(verifyChain(rows).valid).toBe(true);
    expect(verifyChain(rows.map((r, i) => (i === 1 ? { ...r, value: "weekly" } : r))).firstInvalid?.id).toBe("11");
    expect(verifyChain(rows.map((r, i) => (i === 1 ? { ...r, value: null } : r))).firstInvalid?.id).toBe("11");
  });
});
