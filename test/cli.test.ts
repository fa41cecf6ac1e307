// The `rapport` CLI, run as a real process (bin/rapport.mjs) against this file's running engine.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/api/app.ts";
import { listen } from "../src/api/server.ts";
import { startDevSmtp, type DevSmtp } from "../src/modules/dev-outbox/dev-smtp.ts";
import { createTemplate, createTopic, setConsent } from "./support/fixtures.ts";
import { ADMIN_KEY, email, pool, rid, sink, useHarness } from "./support/harness.ts";
import { freePort } from "./support/wait.ts";

const h = useHarness();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function rapport(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["bin/rapport.mjs", ...args], { env: { ...process.env, RAPPORT_URL: h.baseUrl, RAPPORT_API_KEY: ADMIN_KEY, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
const json = (r: Run) => {
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return JSON.parse(r.stdout);
};

describe("rapport CLI", () => {
  it("when keys create runs, then it prints a key that the API accepts with its role", async () => {
    const k = json(await rapport(["keys", "create", "--name", rid("cli-"), "--role", "marketer", "--json"]));
    expect(k).toMatchObject({ role: "marketer" });
    expect((await h.api("GET", "/v1/personas", undefined, { key: k.key })).status).toBe(200);
    expect((await h.api("GET", "/v1/api-keys", undefined, { key: k.key })).status).toBe(403);
    const human = await rapport(["keys", "create", "--name", rid("cli-")]);
    expect(human.stdout).toMatch(/^rpk_\S+\n\(developer key/);
  });

  it("when a CSV is imported, then a progress bar is drawn and the result says how many were created and which rows failed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rapport-cli-"));
    const rows = Array.from({ length: 300 }, (_, i) => `${email(`imp${i}`)},Person ${i}`);
    rows[7] = "not-an-email,Broken";
    writeFileSync(join(dir, "customers.csv"), `email,name\n${rows.join("\n")}\n`);
    const r = await rapport(["import", join(dir, "customers.csv")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\[#{30}\] 300\/300 100%/);
    expect(r.stdout).toMatch(/^completed: 299 created, 0 updated, 1 failed of 300/);
    expect(r.stdout).toMatch(/row 8 email: /);
    const j = json(await rapport(["import", join(dir, "customers.csv"), "--json"]));
    expect(j).toMatchObject({ status: "completed", created: 0, updated: 299, failed: 1 });
  });

  it("when send runs with --wait, then the email arrives and the message is sent; a bad --to is refused", async () => {
    const topic = (await createTopic(h)).key;
    const template = (await createTemplate(h, { subject: "CLI {{data.n}}" })).key;
    const addr = email("cli-send");
    const c = (await h.api("POST", "/v1/customers", { email: addr, externalId: rid("x") })).body;
    await setConsent(h, c.id, topic, "opted_in");
    const m = json(await rapport(["send", "--to", addr, "--template", template, "--topic", topic, "--data", '{"n":7}', "--wait", "--json"]));
    expect(m).toMatchObject({ status: "sent", customerId: c.id });
    expect((await sink.waitFor(addr.toLowerCase()))[0].parsed.subject).toBe("CLI 7");
    const byExt = await rapport(["send", "--to", `ext:${c.externalId}`, "--template", template, "--topic", topic]);
    expect(byExt.stdout).toMatch(/^message \S+ queued/);
    const bad = await rapport(["send", "--to", "nobody", "--template", template, "--topic", topic]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--to takes an email address/);
    const missing = await rapport(["send", "--to", addr, "--template", "no_such_template", "--topic", topic, "--json"]);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).problem).toMatchObject({ status: 404 });
  });

  it("when campaigns are listed, shown, paused and resumed, then each prints the campaign as it is", async () => {
    const topic = (await createTopic(h)).key;
    const template = (await createTemplate(h)).key;
    const name = `CLI ${rid()}`;
    const created = await h.api("POST", "/v1/campaigns", { name, topic, template, audience: { rule: { attr: "cli", op: "eq", value: "nobody" } }, scheduledAt: new Date(Date.now() + 86_400_000).toISOString() });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    expect((await h.api("POST", `/v1/campaigns/${id}/schedule`)).body.status).toBe("scheduled");
    const list = await rapport(["campaigns", "list", "--status", "scheduled"]);
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+${name}\\s+scheduled`));
    const shown = json(await rapport(["campaigns", "show", id, "--json"]));
    expect(shown).toMatchObject({ id, name, status: "scheduled", stats: { total: { targeted: 0 } } });
    expect((await rapport(["campaigns", "pause", id])).stdout.trim()).toBe(`campaign ${id} paused`);
    expect(json(await rapport(["campaigns", "resume", id, "--json"])).status).toBe("scheduled");
    const unknown = await rapport(["campaigns", "pause", "00000000-0000-7000-8000-000000000000"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^rapport: 404 Not found/);
  });

  describe("outbox", () => {
    let dev: { close(): Promise<void>; url: string; smtp: DevSmtp } | null = null;
    beforeAll(async () => {
      // A development engine: the dev outbox routes and the embedded SMTP server that fills them.
      const port = await freePort();
      const server = await listen(createApp({ devOutbox: true }), port, "127.0.0.1");
      const smtp = (await startDevSmtp(await freePort()))!;
      dev = { url: `http://127.0.0.1:${port}`, smtp, close: async () => { await smtp.close(); await new Promise<void>((r) => server.close(() => r())); } };
    });
    afterAll(() => dev?.close());

    it("when a development engine captured an email, then outbox lists it; an engine with real SMTP says it has none", async () => {
      const subject = `CLI outbox ${rid()}`;
      const t = nodemailer.createTransport({ host: "127.0.0.1", port: dev!.smtp.port, secure: false, ignoreTLS: true });
      await t.sendMail({ from: "a@example.com", to: "b@example.com", subject, text: "hi" });
      t.close();
      const listed = json(await rapport(["outbox", "--json", "--limit", "50"], { RAPPORT_URL: dev!.url }));
      expect(listed.map((m: { subject: string }) => m.subject)).toContain(subject);
      const human = await rapport(["outbox"], { RAPPORT_URL: dev!.url });
      expect(human.stdout).toContain(subject);
      const none = await rapport(["outbox"]);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/has no dev outbox/);
    });
  });

  it("when doctor runs, then PostgreSQL, Redis, SMTP, the engine and the ledger are checked, and a tampered ledger row is named", async () => {
    // Its exit code is not judged here: other files break ledger rows of the shared database on purpose.
    const first = json(await rapport(["doctor", "--json"]).then((r) => ({ ...r, code: 0 })));
    const byName = Object.fromEntries(first.checks.map((c: { name: string }) => [c.name, c]));
    expect(Object.keys(byName).sort()).toEqual(["dkim", "engine", "ledger", "postgresql", "public-url", "redis", "secrets", "smtp"]);
    for (const n of ["postgresql", "redis", "smtp", "engine"]) expect(byName[n].status, byName[n].detail).toBe("ok");
    expect(byName.dkim.status).toBe("warn"); // not configured in tests
    // The test secret contains "test": weak, which outside production is a warning.
    expect(byName.secrets).toMatchObject({ status: "warn", detail: expect.stringContaining("guessable") });

    // A row of this file's own customer changed by someone who can bypass the append-only trigger.
    const topic = (await createTopic(h)).key;
    const c = (await h.api("POST", "/v1/customers", { email: email("cli-ledger") })).body;
    await setConsent(h, c.id, topic, "opted_in");
    await setConsent(h, c.id, topic, "opted_out");
    const { rows } = await pool.query<{ id: string }>("SELECT id::text FROM consent_events WHERE customer_id = $1 ORDER BY id LIMIT 1", [c.id]);
    const db = await pool.connect();
    try {
      await db.query("BEGIN");
      await db.query("ALTER TABLE consent_events DISABLE TRIGGER consent_events_append_only");
      await db.query("UPDATE consent_events SET source = 'forged' WHERE id = $1", [rows[0].id]);
      await db.query("ALTER TABLE consent_events ENABLE TRIGGER consent_events_append_only");
      await db.query("COMMIT");
    } finally {
      db.release();
    }
    const after = await rapport(["doctor", "--json"]);
    expect(after.code).toBe(1);
    const ledger = JSON.parse(after.stdout).checks.find((x: { name: string }) => x.name === "ledger");
    expect(ledger.status).toBe("fail");
    expect(ledger.invalid).toContainEqual(expect.objectContaining({ customerId: c.id, id: rows[0].id }));
    const human = await rapport(["doctor"]);
    expect(human.stdout).toMatch(/^FAIL\s+ledger\s+\d+ broken chain/m);
    expect(human.stdout).toMatch(/^ok\s+redis/m);
  });
});
