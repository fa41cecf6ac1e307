// npm run demo, quick: the whole story runs from nothing against a real engine process, on a
// database of its own (dropped afterwards).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "./support/wait.ts";

const name = `rapport_demo_t${randomBytes(4).toString("hex")}`;
const server = process.env.TEST_DATABASE_SERVER ?? "postgresql://postgres@127.0.0.1:5432";

afterAll(async () => {
  const c = new pg.Client({ connectionString: `${server}/postgres` });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await c.end();
});

describe("demo", () => {
  it("when npm run demo runs (quick), then guests are imported, the campaign sends at local time, one guest unsubscribes by one click and per-persona stats print", async () => {
    const env = { ...process.env, DEMO_DATABASE_URL: `${server}/${name}`, DEMO_QUEUE_PREFIX: name, DEMO_PORT: String(await freePort()) };
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ["--import", "tsx", "scripts/demo.ts", "--quick", "--exit"], { env, timeout: 200_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
    expect(out.code, out.stderr + out.stdout).toBe(0);
    const s = out.stdout;
    expect(s).toMatch(/persona Business traveller: .+\n\s+goals: .+; concerns: .+/);
    expect(s).toMatch(/import completed: 300 guests created, 0 rows refused/);
    const [, sent, waiting] = /sent (\d+); (\d+) waiting for \d\d:\d\d in New York or Tokyo/.exec(s) ?? [];
    expect(Number(sent)).toBeGreaterThan(0);
    expect(Number(waiting)).toBeGreaterThan(0);
    expect(s).toMatch(/clicked one-click unsubscribe in ".+": 200, offers now opted_out/);
    for (const p of ["business", "family", "wellness"]) expect(s).toMatch(new RegExp(`^\\s+${p}\\s+100\\s+\\d+`, "m"));
    expect(s).toMatch(/console\s+http:\/\/127\.0\.0\.1:\d+\/console/);
    expect(s).toMatch(/outbox\s+http:\/\/127\.0\.0\.1:\d+\/dev\/outbox/);
  }, 240_000);
});
