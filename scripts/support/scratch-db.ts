// A throw-away database for scripts and benchmarks: dropped, re-created and migrated. Its name must
// contain "bench", "demo" or "scratch", so that no script ever recreates a real database.
import { execFileSync } from "node:child_process";
import pg from "pg";

export async function recreateDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!/bench|demo|scratch/.test(name)) throw new Error(`refusing to recreate database '${name}': its name must contain "bench", "demo" or "scratch"`);
  const server = new URL(url);
  server.pathname = "/postgres";
  const c = new pg.Client({ connectionString: server.toString() });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${name}"`);
  } finally {
    await c.end();
  }
  execFileSync(process.execPath, ["node_modules/prisma/build/index.js", "migrate", "deploy"], {
    env: { ...process.env, DATABASE_URL: url, PRISMA_HIDE_UPDATE_MESSAGE: "1" },
    stdio: "pipe",
  });
}
