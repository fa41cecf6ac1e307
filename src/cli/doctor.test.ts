// The doctor's checks that need no service: DKIM without DNS, secret strength, the public URL.
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { dkim, publicUrl, secrets } from "./doctor.ts";

function pem(type: "rsa" | "ed25519" | "ec", bits = 2048): string {
  const key =
    type === "rsa" ? generateKeyPairSync("rsa", { modulusLength: bits }).privateKey
      : type === "ec" ? generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey
        : generateKeyPairSync("ed25519").privateKey;
  return key.export({ type: "pkcs8", format: "pem" }).toString();
}

describe("doctor: DKIM without DNS", () => {
  it("when no DKIM setting is given, then it warns; when only some are, then it fails", () => {
    expect(dkim({}).status).toBe("warn");
    expect(dkim({ DKIM_DOMAIN: "example.com" })).toMatchObject({ status: "fail", detail: expect.stringContaining("together") });
  });

  it("when the key is RSA 2048 or Ed25519 and the names are well-formed, then ok; RSA 1024 warns; RSA 512, an EC key, a bad name or garbage fail", () => {
    const base = { DKIM_DOMAIN: "mail.example.com", DKIM_SELECTOR: "s2026" };
    expect(dkim({ ...base, DKIM_PRIVATE_KEY: pem("rsa", 2048) })).toMatchObject({ status: "ok", detail: expect.stringContaining("s2026._domainkey.mail.example.com: rsa 2048 bits") });
    // The environment form: newlines written as \n.
    expect(dkim({ ...base, DKIM_PRIVATE_KEY: pem("ed25519").replace(/\n/g, "\\n") }).status).toBe("ok");
    expect(dkim({ ...base, DKIM_PRIVATE_KEY: pem("rsa", 1024) }).status).toBe("warn");
    expect(dkim({ ...base, DKIM_PRIVATE_KEY: pem("rsa", 512) })).toMatchObject({ status: "fail", detail: expect.stringContaining("512 bits") });
    expect(dkim({ ...base, DKIM_PRIVATE_KEY: pem("ec") })).toMatchObject({ status: "fail", detail: expect.stringContaining("RSA or Ed25519") });
    expect(dkim({ ...base, DKIM_DOMAIN: "not a domain", DKIM_PRIVATE_KEY: pem("ed25519") })).toMatchObject({ status: "fail", detail: expect.stringContaining("not a domain name") });
    expect(dkim({ ...base, DKIM_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----" })).toMatchObject({ status: "fail", detail: expect.stringContaining("cannot be read") });
  });
});

describe("doctor: secrets and public URL", () => {
  it("when the secret is random, then ok; a repeated, low-variety or guessable one warns in development and fails in production", () => {
    const random = "b3f1c9a07e5d24f8a6c0193e7d5b2a4f9c8e1d0b7a6f5e4d";
    expect(secrets({ RAPPORT_SECRET: random, isProduction: true }).status).toBe("ok");
    expect(secrets({ RAPPORT_SECRET: "ab".repeat(20), isProduction: false }).status).toBe("warn");
    expect(secrets({ RAPPORT_SECRET: "my-secret-password-for-the-engine-2026", isProduction: true })).toMatchObject({ status: "fail", detail: expect.stringContaining("guessable") });
    expect(secrets({ isProduction: true }).status).toBe("fail");
    expect(secrets({ isProduction: false }).status).toBe("ok");
  });

  it("when production links are http or local, then the public URL fails; https on a public name is ok", () => {
    expect(publicUrl({ publicUrl: "https://mail.example.com", isProduction: true, RAPPORT_PUBLIC_URL: "https://mail.example.com" }).status).toBe("ok");
    expect(publicUrl({ publicUrl: "http://mail.example.com", isProduction: true, RAPPORT_PUBLIC_URL: "http://mail.example.com" }).status).toBe("fail");
    expect(publicUrl({ publicUrl: "https://localhost:3000", isProduction: true, RAPPORT_PUBLIC_URL: "https://localhost:3000" }).status).toBe("fail");
    expect(publicUrl({ publicUrl: "http://localhost:3000", isProduction: false }).status).toBe("warn");
  });
});
