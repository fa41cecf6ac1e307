// npm run demo: the seeds' story, from nothing, on a database of its own (DEMO_DATABASE_URL, default
// .../rapport_demo, dropped and re-created each run: running it twice gives the same story). A
// hotel brand, three buyer personas, 1,000 guests imported from CSV (documented consent for some),
// one template with a variant per persona, one campaign at each guest's local time, one guest
// unsubscribing by one click, and per-persona stats. The engine (API, workers, dev outbox) runs as
// a real process and keeps serving afterwards so the console and outbox can be looked at; --exit
// stops it at the end, --quick imports 300 guests instead of 1,000.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { Redis } from "ioredis";
import { DateTime } from "luxon";
import { createRapportClient, type RapportClient } from "../src/client/index.ts";
import { ok } from "../src/cli/api.ts";
import { progressBar, table } from "../src/cli/output.ts";
import { recreateDatabase } from "./support/scratch-db.ts";

const args = new Set(process.argv.slice(2));
const QUICK = args.has("--quick");
const EXIT = args.has("--exit");
const GUESTS = QUICK ? 300 : 1000;
const DB = process.env.DEMO_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/rapport_demo";
const REDIS = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const PREFIX = process.env.DEMO_QUEUE_PREFIX ?? "rapport-demo";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (s = "") => console.log(s);

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

const PERSONAS = [
  {
    key: "business", name: "Business traveller", segment: "business", priority: 30,
    story: "Maya flies in for two-day client meetings, books the night before, and works from the room.",
    goals: ["fast check-in", "a quiet room with a real desk", "invoices that expense cleanly"],
    concerns: ["slow Wi-Fi", "noisy rooms", "hidden fees"],
    subject: "{{customer.name}}, a quieter stay for your next trip",
    html: "<p>{{customer.name}}, your next trip deserves a desk by the window, fibre Wi-Fi and express check-out.</p><p><a href=\"https://hotel-lumen.example/business\">Book a work-ready room</a></p>",
  },
  {
    key: "family", name: "Family planner", segment: "family", priority: 20,
    story: "Tom plans the school holidays a year ahead for two kids and a grandmother.",
    goals: ["connecting rooms", "breakfast included", "a pool the kids can use all day"],
    concerns: ["price per night", "cancellation rules", "safety"],
    subject: "Room for everyone this spring, {{customer.name}}",
    html: "<p>{{customer.name}}, connecting rooms, breakfast for the whole family and free cancellation until 48 hours before.</p><p><a href=\"https://hotel-lumen.example/family\">See family rooms</a></p>",
  },
  {
    key: "wellness", name: "Wellness seeker", segment: "wellness", priority: 10,
    story: "Ines takes three long weekends a year to switch off: spa, slow mornings, no phone.",
    goals: ["spa time", "healthy food", "sleep"],
    concerns: ["crowds", "being sold to"],
    subject: "A slower weekend, {{customer.name}}",
    html: "<p>{{customer.name}}, a spa hour each morning, late breakfast and a room facing the garden.</p><p><a href=\"https://hotel-lumen.example/spa\">Plan a slow weekend</a></p>",
  },
];
// Most guests in Central European time, where the campaign's local time comes within a minute; the
// others wait for the same local time in their own zone.
const ZONES = ["Europe/Paris", "Europe/Berlin", "Europe/Madrid", "Europe/Paris", "America/New_York", "Asia/Tokyo"];

function guestsCsv(): string {
  const lines = ["email,name,timezone,locale,attributes.segment,attributes.stays,consent.offers,consent_source,consent_proof"];
  for (let i = 1; i <= GUESTS; i++) {
    const p = PERSONAS[i % 3];
    // 60% opted in with evidence, 10% opted out, the rest never asked: no email for them.
    const c = i % 10 < 6 ? ["opted_in", "booking-form", `Ticked 'Send me offers' on booking HL-${10_000 + i}`] : i % 10 === 6 ? ["opted_out", "booking-form", ""] : ["", "", ""];
    lines.push([`guest-${String(i).padStart(4, "0")}@lumen-guests.example`, `Guest ${i}`, ZONES[Math.floor(i / 3) % ZONES.length], "en", p.segment, String(i % 7), ...c].join(","));
  }
  return `${lines.join("\n")}\n`;
}

async function startEngine(port: number, adminKey: string) {
  const smtpPort = await freePort();
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SMTP_|RAPPORT_|DATABASE_|QUEUE_PREFIX|PORT$|NODE_ENV|VITEST)/.test(k))),
    NODE_ENV: "development", DATABASE_URL: DB, REDIS_URL: REDIS, QUEUE_PREFIX: PREFIX, PORT: String(port), HOST: "127.0.0.1",
    DEV_SMTP_PORT: String(smtpPort), RAPPORT_ADMIN_KEY: adminKey, LOG_LEVEL: "warn",
  };
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], { env, stdio: ["ignore", "ignore", "inherit"] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`the engine exited with ${child.exitCode}`);
    const ready = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    if (ready) return { child, base };
    await sleep(200);
  }
  throw new Error("the engine did not become ready in 2 minutes");
}

async function seed(api: RapportClient) {
  ok(await api.POST("/v1/topics", { body: { key: "offers", name: "Offers from Hotel Lumen", description: "Seasonal offers and packages, about once a month", kind: "marketing" } }));
  for (const p of PERSONAS) {
    ok(await api.POST("/v1/personas", { body: { key: p.key, name: p.name, story: p.story, goals: p.goals, concerns: p.concerns, priority: p.priority, rule: { attr: "segment", op: "eq", value: p.segment } } }));
    say(`  persona ${p.name}: ${p.story}`);
    say(`    goals: ${p.goals.join(", ")}; concerns: ${p.concerns.join(", ")}`);
  }
  const accepted = ok(await api.POST("/v1/customers/import", { body: guestsCsv(), bodySerializer: (b: unknown) => b as string, headers: { "content-type": "text/csv" } }));
  const bar = progressBar("  importing guests");
  for (;;) {
    const i = ok(await api.GET("/v1/imports/{id}", { params: { path: { id: accepted.id } } }));
    bar.update(i.processed, i.total);
    if (i.status === "completed" || i.status === "failed") {
      bar.end();
      say(`  import ${i.status}: ${i.created} guests created, ${i.failed} rows refused`);
      if (i.status === "failed") throw new Error("the import failed");
      break;
    }
    await sleep(200);
  }
  ok(await api.POST("/v1/templates", {
    body: {
      key: "spring_escape", name: "Spring escape",
      subject: "Spring at Hotel Lumen, {{customer.name}}",
      html: "<p>{{customer.name}}, spring rooms are open at Hotel Lumen.</p><p><a href=\"https://hotel-lumen.example/spring\">See spring offers</a></p>",
      variants: PERSONAS.map((p) => ({ persona: p.key, subject: p.subject, html: p.html })),
    },
  }));
  say("  template spring_escape: a default and a variant per persona");
}

async function main() {
  const port = Number(process.env.DEMO_PORT ?? 3300);
  const adminKey = `demo-${randomBytes(16).toString("hex")}`;
  say(`Rapport demo: Hotel Lumen (${GUESTS} guests)${QUICK ? " [quick]" : ""}`);
  say(`- fresh database ${new URL(DB).pathname.slice(1)} and queue prefix ${PREFIX}`);
  await recreateDatabase(DB);
  const redis = new Redis(REDIS, { lazyConnect: true });
  await redis.connect();
  for (let cursor = "0"; ;) {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${PREFIX}:*`, "COUNT", 1000);
    if (keys.length) await redis.unlink(...keys);
    if ((cursor = next) === "0") break;
  }
  redis.disconnect();

  const { child, base } = await startEngine(port, adminKey);
  const stop = () => child.exitCode === null && child.kill("SIGTERM");
  process.on("SIGINT", () => { stop(); process.exit(130); });
  try {
    const api = createRapportClient({ baseUrl: base, apiKey: adminKey });
    say(`- engine on ${base} (API, workers, embedded SMTP server: the dev outbox)`);
    say("- the brand: Hotel Lumen, one marketing topic 'offers'; three buyer personas:");
    await seed(api);

    // The campaign at 'the next minute' in Central Europe: those guests get it now, New York and
    // Tokyo guests at the same wall-clock time in their own zone, hours from now.
    const localTime = DateTime.now().setZone("Europe/Paris").plus({ minutes: 1 }).toFormat("HH:mm");
    const campaign = ok(await api.POST("/v1/campaigns", { body: { name: "Spring escape", topic: "offers", template: "spring_escape", audience: { personas: PERSONAS.map((p) => p.key) }, localTime, defaultTimezone: "Europe/Paris" } }));
    const audience = ok(await api.GET("/v1/campaigns/{id}/audience", { params: { path: { id: campaign.id } } }));
    ok(await api.POST("/v1/campaigns/{id}/schedule", { params: { path: { id: campaign.id } } }));
    say(`- campaign 'Spring escape' at ${localTime} in each guest's own time zone: ${audience.total} guests in the audience, ${audience.consenting} consenting to offers`);
    say(`  waiting for ${localTime} in Paris, Berlin and Madrid (under a minute)...`);
    let c = campaign;
    for (let i = 0; i < 150; i++) {
      c = ok(await api.GET("/v1/campaigns/{id}", { params: { path: { id: campaign.id } } }));
      // Central European guests with consent are 4 zones of 6; wait until their wave is out.
      if (c.counts.sent > 0 && c.counts.sent >= Math.floor(audience.consenting * 4 / 6) - 5) break;
      await sleep(1000);
    }
    say(`  sent ${c.counts.sent}; ${c.counts.queued} waiting for ${localTime} in New York or Tokyo; ${c.counts.suppressed} never sent (no consent or opted out)`);

    // One guest unsubscribes by one click, as a mail client does with List-Unsubscribe-Post.
    const outbox = ok(await api.GET("/dev/outbox", { params: { query: { limit: 1 } }, headers: { accept: "application/json" } }));
    const mail = ok(await api.GET("/dev/outbox/{id}", { params: { path: { id: outbox.data[0].id } }, headers: { accept: "application/json" } }));
    const raw = await (await fetch(`${base}/dev/outbox/${mail.id}/raw`)).text();
    const link = /^List-Unsubscribe:\s*<([^>]+)>/im.exec(raw.replace(/\r?\n[ \t]+/g, " "))?.[1];
    if (!link) throw new Error("the email has no List-Unsubscribe link");
    const unsub = await fetch(link, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "List-Unsubscribe=One-Click" });
    const guest = ok(await api.GET("/v1/customers", { params: { query: { email: mail.to[0] } } })).data[0];
    const consents = ok(await api.GET("/v1/customers/{id}/consents", { params: { path: { id: guest.id } } })).data;
    say(`- ${mail.to[0]} (${guest.persona}) clicked one-click unsubscribe in "${mail.subject}": ${unsub.status}, offers now ${consents.find((x) => x.topic === "offers")?.status}`);

    // Engagement counters are written in small batches: give the unsubscribe a few seconds to show.
    let stats = ok(await api.GET("/v1/campaigns/{id}/stats", { params: { path: { id: campaign.id } } }));
    for (let i = 0; i < 20 && stats.total.unsubscribed === 0; i++) {
      await sleep(500);
      stats = ok(await api.GET("/v1/campaigns/{id}/stats", { params: { path: { id: campaign.id } } }));
    }
    say("- per-persona stats:");
    say(table(stats.data.map((s) => ({ persona: s.persona ?? "(none)", targeted: s.targeted, sent: s.sent, waiting: s.queued, "no consent": s.suppressedByReason.no_consent ?? 0, "opted out": s.suppressedByReason.unsubscribed ?? 0, unsubscribed: s.unsubscribed })),
      ["persona", "targeted", "sent", "waiting", "no consent", "opted out", "unsubscribed"]).replace(/^/gm, "  "));
    say();
    say("Where to look:");
    say(`  console   ${base}/console  (sign in with the admin key ${adminKey})`);
    say(`  outbox    ${base}/dev/outbox  (every email, as a mail client sees it)`);
    say(`  API docs  ${base}/docs`);
    say(`  CLI       RAPPORT_URL=${base} RAPPORT_API_KEY=${adminKey} npx rapport campaigns show ${campaign.id}`);
    if (EXIT) return;
    say("The engine keeps running; Ctrl-C stops it.");
    await new Promise((r) => child.once("exit", r));
  } finally {
    stop();
  }
}

await main();
