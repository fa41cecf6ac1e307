import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.ts";

describe("config", () => {
  it("when nothing is set, then development defaults apply and no secret is invented", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ PORT: 3000, RAPPORT_ROLE: "all", DATABASE_CREATE: true, publicUrl: "http://localhost:3000" });
    expect(c.RAPPORT_SECRET).toBeUndefined();
  });
  it("when production lacks a secret or public URL, then start-up fails with a clear message", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: "production", RAPPORT_SECRET: "s".repeat(32) })).toThrow(/RAPPORT_PUBLIC_URL/);
    const c = loadConfig({ NODE_ENV: "production", RAPPORT_SECRET: "s".repeat(32), RAPPORT_PUBLIC_URL: "https://mail.example.com/" });
    expect(c).toMatchObject({ isProduction: true, DATABASE_CREATE: false, publicUrl: "https://mail.example.com" });
  });
  it("when TRUST_PROXY is a number or a boolean, then Express gets a hop count or a boolean, not an address", () => {
    expect(loadConfig({}).TRUST_PROXY).toBe("loopback");
    expect(loadConfig({ TRUST_PROXY: "1" }).TRUST_PROXY).toBe(1);
    expect(loadConfig({ TRUST_PROXY: "true" }).TRUST_PROXY).toBe(true);
    expect(loadConfig({ TRUST_PROXY: "10.0.0.0/8, loopback" }).TRUST_PROXY).toBe("10.0.0.0/8, loopback");
  });
  it("when a value is invalid, then the error names the setting", () => {
    expect(() => loadConfig({ PORT: "eighty" })).toThrow(/PORT/);
    expect(() => loadConfig({ RAPPORT_SECRET: "short" })).toThrow(/RAPPORT_SECRET/);
  });
});
