import { beforeAll, describe, expect, it } from "vitest";
import { addressHash, decrypt, encrypt, initSecrets, newDataKey, signToken, verifyToken } from "./secrets.ts";

beforeAll(() => initSecrets("unit-test-secret-0123456789abcdef0123"));

describe("signed tokens", () => {
  it("when a token is signed, then it verifies for its purpose only", () => {
    const t = signToken({ p: "u", c: "cust", t: "topic" });
    expect(verifyToken(t, "u")).toMatchObject({ c: "cust", t: "topic" });
    expect(verifyToken(t, "p")).toBeNull();
  });

  it("when any character of the payload or signature changes, then it no longer verifies", () => {
    const t = signToken({ p: "u", c: "cust", t: "topic" });
    for (const i of [0, 5, t.indexOf(".") + 1, t.length - 1]) {
      const ch = t[i] === "A" ? "B" : "A";
      expect(verifyToken(t.slice(0, i) + ch + t.slice(i + 1), "u")).toBeNull();
    }
    expect(verifyToken("garbage", "u")).toBeNull();
    expect(verifyToken("", "u")).toBeNull();
  });

  it("when a token has expired, then it is refused", () => {
    const t = signToken({ p: "c", exp: Math.floor(Date.now() / 1000) - 1 });
    expect(verifyToken(t, "c")).toBeNull();
    expect(verifyToken(signToken({ p: "c", exp: Math.floor(Date.now() / 1000) + 60 }), "c")).not.toBeNull();
  });

  it("when signed with another secret, then it is refused", () => {
    const t = signToken({ p: "u", c: "x" });
    initSecrets("another-secret-0123456789abcdef012345");
    expect(verifyToken(t, "u")).toBeNull();
    initSecrets("unit-test-secret-0123456789abcdef0123");
    expect(verifyToken(t, "u")).not.toBeNull();
  });
});

describe("encryption and hashing", () => {
  it("when data is encrypted with a key, then only that key decrypts it", () => {
    const k1 = newDataKey();
    const enc = encrypt("198.51.100.7", k1);
    expect(enc).not.toContain("198.51");
    expect(decrypt(enc, k1)).toBe("198.51.100.7");
    expect(decrypt(enc, newDataKey())).toBeNull();
    expect(decrypt(enc, null)).toBeNull();
  });

  it("when addresses differ only in case, then their hashes are equal and keyed", () => {
    expect(addressHash("Bob@Example.com")).toBe(addressHash("bob@example.com"));
    expect(addressHash("bob@example.com")).not.toMatch(/bob/);
  });
});
