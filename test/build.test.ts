// The production build (`npm run build`, then `node dist/main.js`): compiled JavaScript without tsx
// must come up on a new database, prepare templates in its worker thread, serve the console's views
// and assets, and stop cleanly.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, sleep } from "./support/wait.ts";

const server = "postgresql://postgres@127.0.0.1:5432";
const dbName = `rapport_build_${randomBytes(4).toString("hex")}`;
const admin = `build-admin-key-${randomBytes(12).toString("hex")}`;
let stop = () => undefined as unknown;

afterAll(async () => {
  stop();
  const client = new pg.Client({ connectionString: `${server}/postgres` });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await client.end();
});

describe("production build", () => {
  it("when the engine is built and started from dist/, then it serves the API, previews a template through its worker thread, and shows the console", async () => {
    execFileSync("npm", ["run", "build"], { stdio: "pipe" });
    expect(existsSync("dist/main.js")).toBe(true);
    const [port, smtpPort] = [await freePort(), await freePort()];
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SMTP_URL|RAPPORT_|DATABASE_|QUEUE_PREFIX|PORT|HOST|NODE_ENV|DEV_SMTP_PORT|NODE_OPTIONS)/.test(k)));
    const child = spawn(process.execPath, ["dist/main.js"], {
      env: {
        ...clean, DATABASE_URL: `${server}/${dbName}`, QUEUE_PREFIX: `build${randomBytes(4).toString("hex")}`, RAPPORT_ADMIN_KEY: admin,
        DEV_SMTP_PORT: String(smtpPort), LOG_LEVEL: "warn", NODE_ENV: "development", PORT: String(port), HOST: "127.0.0.1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output: string[] = [];
    child.stdout.on("data", (d) => output.push(String(d)));
    child.stderr.on("data", (d) => output.push(String(d)));
    stop = () => child.exitCode === null && child.kill("SIGKILL");
    const base = `http://127.0.0.1:${port}`;
    let ready = 0;
    for (let i = 0; i < 240 && ready !== 200 && child.exitCode === null; i++) {
      ready = await fetch(`${base}/readyz`).then((r) => r.status, () => 0);
      if (ready !== 200) await sleep(250);
    }
    expect(ready, output.join("")).toBe(200);
    const call = (method: string, path: string, body?: unknown) =>
      fetch(base + path, { method, headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: body ? JSON.stringify(body) : undefined });
    const created = await call("POST", "/v1/templates", {
      key: "welcome", name: "Welcome", subject: "Hi {{customer.name}}", html: "<style>p { color: #123456 }</style><p>Hello {{customer.name}}</p>",
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const preview = await call("POST", "/v1/templates/welcome/preview", { customer: { name: "Ada" } });
    const body = await preview.text();
    expect(preview.status, body).toBe(200);
    expect(body).toContain("Hello Ada");
    expect(body).toMatch(/style=\\?"color: ?#123456/); // CSS inlined by the worker thread
    const signIn = await fetch(`${base}/console/sign-in`);
    expect(signIn.status).toBe(200);
    expect(await signIn.text()).toContain("<form");
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exited, output.join("")).toBe(0);
  }, 180_000);
});
