// Once per run: a fresh database of its own (parallel runs do not collide) with every migration
// applied through the real Prisma CLI; dropped again at the end. Files that run the delivery sweep
// with a claim timeout of seconds get a copy of their own (isolatedDatabase below): the sweep works
// on the whole database, so on the shared one it would take over other files' claims (a campaign
// message waiting 8 s for its slot was released and sent twice) and enqueue their queued rows. The
// webhook tests count deliveries: on the shared database every other file's events would reach them.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import pg from "pg";

const server = process.env.TEST_DATABASE_SERVER ?? "postgresql://postgres@127.0.0.1:5432";

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: `${server}/postgres` });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Keys of the files that get a database of their own (see isolatedDatabase in env.ts). */
export const ISOLATED = ["sweep_delivery", "sweep_pacing", "webhooks", "console"] as const;

export default async function setup() {
  const name = `rapport_test_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  const url = `${server}/${name}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  execFileSync(process.execPath, ["node_modules/prisma/build/index.js", "migrate", "deploy"], {
    env: { ...process.env, DATABASE_URL: url, PRISMA_HIDE_UPDATE_MESSAGE: "1" },
    stdio: "pipe",
  });
  // Copies are made now, while nobody is connected to the template.
  const copies = ISOLATED.map((key) => `${name}_${key}`);
  for (const copy of copies) await admin((c) => c.query(`CREATE DATABASE "${copy}" TEMPLATE "${name}"`));
  process.env.RAPPORT_TEST_DATABASE_URL = url;
  return async () => {
    if (process.env.KEEP_TEST_DB) return;
    for (const db of [name, ...copies]) await admin((c) => c.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`));
  };
}
