// The development first start: with no RAPPORT_ADMIN_KEY and no admin key, one admin key is created
// (hashed) and shown once, even when two processes start at the same moment.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { recreateDatabase } from "../scripts/support/scratch-db.ts";
import { sha256 } from "../src/platform/secrets.ts";

const server = new URL(process.env.RAPPORT_TEST_DATABASE_URL!);
server.pathname = `/rapport_scratch_${randomBytes(4).toString("hex")}`;
const url = server.toString();

async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

const start = () =>
  promisify(execFile)(process.execPath, ["--import", "tsx", "test/support/first-admin-key.ts"], {
    env: { ...process.env, NODE_ENV: "development", DATABASE_URL: url, RAPPORT_ADMIN_KEY: "", RAPPORT_SECRET: "" },
  }).then((r) => JSON.parse(r.stdout) as { key: string | null });

afterAll(async () => {
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const c = new pg.Client({ connectionString: admin.toString() });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`);
  await c.end();
});

describe("first admin key in development", () => {
  it("when two processes start at once on a database without an admin key, then exactly one key is created, stored hashed, and a third start creates none", async () => {
    await recreateDatabase(url);
    expect(await query("SELECT 1 FROM api_keys")).toHaveLength(0);
    const results = await Promise.all([start(), start()]);
    const keys = results.map((r) => r.key).filter((k): k is string => k !== null);
    expect(keys).toHaveLength(1);
    const rows = await query<{ role: string; hash: string }>("SELECT role, hash FROM api_keys");
    expect(rows).toEqual([{ role: "admin", hash: sha256(keys[0]) }]);
    expect((await start()).key).toBeNull();
    expect(await query("SELECT 1 FROM api_keys")).toHaveLength(1);
  });
});
