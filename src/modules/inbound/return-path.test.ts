import { describe, expect, it } from "vitest";
import { initSecrets } from "../../platform/secrets.ts";
import { findReturnPaths, returnPath, verifyReturnPath } from "./return-path.ts";

initSecrets("unit-test-secret-that-is-long-enough-0123");
const id = "01938a6e-7b1c-7c3e-9a4f-2b6d8e0f1a2c";

describe("return path", () => {
  it("when a message's return path is read back, then it names the message, also after an MTA upper-cased it", () => {
    const a = returnPath(id);
    expect(a).toMatch(new RegExp(`^bounces\\+${id}\\.[0-9a-f]{16}@rapport\\.localhost$`));
    expect(a.split("@")[0].length).toBeLessThanOrEqual(64); // RFC 5321 local-part limit
    expect(verifyReturnPath(a)).toBe(id);
    expect(verifyReturnPath(a.toUpperCase())).toBe(id);
    expect(findReturnPaths(`To: <${a}>\r\nX-Other: bounces+${id}.0000000000000000@rapport.localhost`)).toEqual([id]);
  });

  it("when the signature or the id is changed, then it names nothing", () => {
    const a = returnPath(id);
    expect(verifyReturnPath(a.replace(/\.([0-9a-f])/, (_m, c: string) => `.${c === "0" ? "1" : "0"}`))).toBeNull();
    expect(verifyReturnPath(a.replace("01938a6e", "01938a6f"))).toBeNull();
    expect(verifyReturnPath("hello@rapport.localhost")).toBeNull();
  });
});
