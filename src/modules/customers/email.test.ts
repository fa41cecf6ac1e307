import { describe, expect, it } from "vitest";
import { addressKey, emailSchema, normaliseEmail } from "./email.ts";

describe("email normalisation", () => {
  it("when an email has spaces and an upper-case domain, then it is trimmed and the domain lower-cased", () => {
    expect(normaliseEmail("  Ann.Lee@Example.COM ")).toBe("Ann.Lee@example.com");
    expect(addressKey("Ann.Lee@Example.COM")).toBe("ann.lee@example.com");
  });
  it("when the address is not an email, then the schema refuses it", () => {
    for (const bad of ["", "nope", "a@", "@b.c", "a b@c.d", "x".repeat(250) + "@b.co"]) expect(emailSchema.safeParse(bad).success).toBe(false);
    expect(emailSchema.safeParse(" ok@example.org ").success).toBe(true);
  });
});
