// `rapport`: the operator's and developer's command line. Every command but doctor talks to a
// running engine over HTTP (RAPPORT_URL, RAPPORT_API_KEY) through the typed client; each takes
// --json for scripts. Exit code 1 when the command failed (or doctor found a failing check).
import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { config } from "../platform/config.ts";
import { action, CliError, client, engineUrl, ok } from "./api.ts";
import { runDoctor } from "./doctor.ts";
import { print, progressBar, table } from "./output.ts";

const program = new Command("rapport").description("Rapport, the permission-first messaging engine").showHelpAfterError();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Json = { json?: boolean };

const keys = program.command("keys").description("API keys");
keys
  .command("create")
  .description("create an API key (shown once)")
  .requiredOption("--name <name>", "what the key is for")
  .option("--role <role>", "admin, marketer or developer", "developer")
  .option("--json", "print JSON")
  .action(action(async (o: Json & { name: string; role: "admin" | "marketer" | "developer" }) => {
    const k = ok(await client().POST("/v1/api-keys", { body: { name: o.name, role: o.role } }));
    print(o.json, k, () => `${k.key}\n(${k.role} key '${k.name}', id ${k.id}: shown once, keep it now)`);
  }));

program
  .command("import <file>")
  .description("import customers from a CSV file (header row) and follow the import to its end")
  .option("--no-wait", "return once the upload is accepted")
  .option("--json", "print JSON")
  .action(action(async (file: string, o: Json & { wait: boolean }) => {
    const api = client();
    const csv = await readFile(file, "utf8");
    const accepted = ok(await api.POST("/v1/customers/import", { body: csv, bodySerializer: (b: unknown) => b as string, headers: { "content-type": "text/csv" } }));
    if (!o.wait) return print(o.json, accepted, () => `import ${accepted.id} ${accepted.status}`);
    const bar = o.json ? null : progressBar(`import ${accepted.id.slice(-8)}`);
    for (;;) {
      const i = ok(await api.GET("/v1/imports/{id}", { params: { path: { id: accepted.id } } }));
      bar?.update(i.processed, i.total);
      if (i.status === "completed" || i.status === "failed") {
        bar?.end();
        if (i.status === "failed") process.exitCode = 1;
        return print(o.json, i, () =>
          [`${i.status}: ${i.created} created, ${i.updated} updated, ${i.failed} failed of ${i.total}`,
            ...i.errors.slice(0, 10).map((e) => `  row ${e.row}${e.field ? ` ${e.field}` : ""}: ${e.message}`)].join("\n"));
      }
      await sleep(250);
    }
  }));

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
program
  .command("send")
  .description("send one message")
  .requiredOption("--to <who>", "an email address, a customer id, or ext:<externalId>")
  .requiredOption("--template <key>", "template key")
  .requiredOption("--topic <key>", "topic key")
  .option("--data <json>", "template data as JSON", "{}")
  .option("--idempotency-key <key>", "makes a retry return the first message")
  .option("--wait", "wait until the message is sent, suppressed or failed")
  .option("--json", "print JSON")
  .action(action(async (o: Json & { to: string; template: string; topic: string; data: string; idempotencyKey?: string; wait?: boolean }) => {
    const api = client();
    const to = o.to.includes("@") ? { email: o.to } : o.to.startsWith("ext:") ? { externalId: o.to.slice(4) } : UUID.test(o.to) ? { customerId: o.to } : null;
    if (!to) throw new CliError("--to takes an email address, a customer id (UUID) or ext:<externalId>");
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(o.data) as Record<string, unknown>;
    } catch {
      throw new CliError("--data is not valid JSON");
    }
    let m = ok(await api.POST("/v1/messages", {
      body: { to, template: o.template, topic: o.topic, data },
      params: { header: o.idempotencyKey ? { "Idempotency-Key": o.idempotencyKey } : {} },
    }));
    for (let i = 0; o.wait && ["queued", "sending"].includes(m.status) && i < 240; i++) {
      await sleep(250);
      m = ok(await api.GET("/v1/messages/{id}", { params: { path: { id: m.id } } }));
    }
    print(o.json, m, () => `message ${m.id} ${m.status}${m.reason ? ` (${m.reason})` : ""}`);
  }));

const campaigns = program.command("campaigns").description("campaigns");
campaigns
  .command("list")
  .option("--status <status>", "draft, scheduled, running, paused, completed or canceled")
  .option("--json", "print JSON")
  .action(action(async (o: Json & { status?: "draft" | "scheduled" | "running" | "paused" | "completed" | "canceled" }) => {
    const page = ok(await client().GET("/v1/campaigns", { params: { query: { limit: 100, ...(o.status ? { status: o.status } : {}) } } }));
    print(o.json, page.data, () => table(page.data.map((c) => ({ id: c.id, name: c.name, status: c.status, topic: c.topic, targeted: c.counts.targeted, sent: c.counts.sent, suppressed: c.counts.suppressed })), ["id", "name", "status", "topic", "targeted", "sent", "suppressed"]));
  }));
campaigns
  .command("show <id>")
  .option("--json", "print JSON")
  .action(action(async (id: string, o: Json) => {
    const api = client();
    const c = ok(await api.GET("/v1/campaigns/{id}", { params: { path: { id } } }));
    const stats = ok(await api.GET("/v1/campaigns/{id}/stats", { params: { path: { id } } }));
    print(o.json, { ...c, stats }, () =>
      [`${c.name} (${c.id})`, `status ${c.status}${c.pausedReason ? ` (${c.pausedReason})` : ""}; topic ${c.topic}; template ${c.template} v${c.version}`,
        `scheduled ${c.scheduledAt ?? "-"}${c.localTime ? ` at ${c.localTime} local time` : ""}`, "",
        table(stats.data.map((s) => ({ persona: s.persona ?? "(none)", targeted: s.targeted, sent: s.sent, suppressed: s.suppressed, failed: s.failed + s.bounced, opened: s.opened, clicked: s.clicked, unsubscribed: s.unsubscribed })),
          ["persona", "targeted", "sent", "suppressed", "failed", "opened", "clicked", "unsubscribed"])].join("\n"));
  }));
for (const verb of ["pause", "resume"] as const) {
  campaigns
    .command(`${verb} <id>`)
    .option("--json", "print JSON")
    .action(action(async (id: string, o: Json) => {
      const c = ok(await client().POST(`/v1/campaigns/{id}/${verb}`, { params: { path: { id } } }));
      print(o.json, c, () => `campaign ${c.id} ${c.status}`);
    }));
}

program
  .command("outbox")
  .description("emails captured by a development engine (no SMTP_URL)")
  .option("--limit <n>", "how many, newest first", "20")
  .option("--json", "print JSON")
  .action(action(async (o: Json & { limit: string }) => {
    const r = await client().GET("/dev/outbox", { params: { query: { limit: Number(o.limit) } }, headers: { accept: "application/json" } });
    if (r.response.status === 404) throw new CliError(`${engineUrl()} has no dev outbox (it sends through SMTP_URL, or runs in production)`);
    const page = ok(r);
    print(o.json, page.data, () => table(page.data.map((m) => ({ received: m.receivedAt, to: m.to.join(", "), subject: m.subject, id: m.id })), ["received", "to", "subject", "id"]));
  }));

program
  .command("doctor")
  .description("check PostgreSQL, Redis, SMTP, DKIM, secrets, the public URL, the engine and the consent ledger")
  .option("--json", "print JSON")
  .action(action(async (o: Json) => {
    // The engine is checked when RAPPORT_URL names one; the rest needs only the configuration.
    const checks = await runDoctor({ engineUrl: config.RAPPORT_URL ? engineUrl() : undefined });
    const failed = checks.some((c) => c.status === "fail");
    if (failed) process.exitCode = 1;
    const mark = { ok: "ok  ", warn: "warn", fail: "FAIL" };
    print(o.json, { ok: !failed, checks }, () => checks.map((c) => `${mark[c.status]}  ${c.name.padEnd(11)} ${c.detail}`).join("\n"));
  }));

await program.parseAsync(process.argv);
