// `rapport doctor`: what an operator checks before trusting a deployment, from the configuration
// this process reads (the same settings as the engine) and, when RAPPORT_URL is set, the engine
// itself. Nothing here touches DNS: DKIM is checked by signing and verifying with the key.
import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import nodemailer from "nodemailer";
import pg from "pg";
import { config } from "../platform/config.ts";

export type Status = "ok" | "warn" | "fail";
export interface Check {
  name: string;
  status: Status;
  detail: string;
  /** The ledger check: the first invalid row of each broken chain (up to 1,000). */
  invalid?: Array<{ customerId: string; id: string; createdAt: string }>;
}

const within = <T>(ms: number, p: Promise<T>, what: string) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms`)), ms).unref())]);
const message = (err: unknown) => (err as Error).message.split("\n")[0];

async function postgres(): Promise<Check> {
  const c = new pg.Client({ connectionString: config.DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await within(4000, c.connect(), "PostgreSQL");
    const v = await c.query<{ v: string }>("SHOW server_version");
    const dir = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));
    const expected = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).length;
    const applied = await c
      .query<{ n: string }>("SELECT count(*) AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL")
      .then((r) => Number(r.rows[0].n), () => 0);
    const status: Status = applied >= expected ? "ok" : "fail";
    return { name: "postgresql", status, detail: `PostgreSQL ${v.rows[0].v}; ${applied}/${expected} migrations applied${status === "fail" ? " (start the engine or run npm run db:migrate)" : ""}` };
  } catch (err) {
    return { name: "postgresql", status: "fail", detail: `${message(err)} (DATABASE_URL)` };
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function redis(): Promise<Check> {
  const r = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
  r.on("error", () => undefined);
  try {
    await within(3000, r.connect(), "Redis");
    const info = await r.info("server");
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? "?";
    const policy = (await r.config("GET", "maxmemory-policy").catch(() => [])) as string[];
    // BullMQ needs its keys kept: an evicting policy loses queued jobs under memory pressure.
    const evicts = policy[1] && policy[1] !== "noeviction";
    return { name: "redis", status: evicts ? "warn" : "ok", detail: `Redis ${version}${evicts ? `; maxmemory-policy ${policy[1]} may evict queued jobs (use noeviction)` : ""}` };
  } catch (err) {
    return { name: "redis", status: "fail", detail: `${message(err)} (REDIS_URL)` };
  } finally {
    r.disconnect();
  }
}

async function smtp(): Promise<Check> {
  if (!config.SMTP_URL) {
    return config.isProduction
      ? { name: "smtp", status: "fail", detail: "SMTP_URL is unset: nothing would be delivered" }
      : { name: "smtp", status: "ok", detail: "SMTP_URL unset: the embedded dev outbox captures every email (GET /dev/outbox)" };
  }
  const t = nodemailer.createTransport(config.SMTP_URL);
  try {
    await within(8000, t.verify(), "SMTP");
    return { name: "smtp", status: "ok", detail: `${new URL(config.SMTP_URL).host} accepts connections${/smtps:|secure=true/.test(config.SMTP_URL) ? " (TLS)" : ""}` };
  } catch (err) {
    return { name: "smtp", status: "fail", detail: `${message(err)} (SMTP_URL)` };
  } finally {
    t.close();
  }
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const SELECTOR = /^[a-z0-9]([a-z0-9-_]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-_]{0,61}[a-z0-9])?)*$/i;

/** DKIM without DNS: the settings go together, the names are well-formed, the key signs and verifies. */
export function dkim(c: Pick<typeof config, "DKIM_DOMAIN" | "DKIM_SELECTOR" | "DKIM_PRIVATE_KEY"> = config): Check {
  const set = [c.DKIM_DOMAIN, c.DKIM_SELECTOR, c.DKIM_PRIVATE_KEY].filter(Boolean).length;
  if (set === 0) return { name: "dkim", status: "warn", detail: "not configured: mail leaves unsigned (set DKIM_DOMAIN, DKIM_SELECTOR, DKIM_PRIVATE_KEY)" };
  if (set < 3) return { name: "dkim", status: "fail", detail: "DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY must be set together" };
  const problems: string[] = [];
  if (!DOMAIN.test(c.DKIM_DOMAIN!)) problems.push(`DKIM_DOMAIN '${c.DKIM_DOMAIN}' is not a domain name`);
  if (!SELECTOR.test(c.DKIM_SELECTOR!)) problems.push(`DKIM_SELECTOR '${c.DKIM_SELECTOR}' is not a valid selector`);
  try {
    const key = createPrivateKey(c.DKIM_PRIVATE_KEY!.replace(/\\n/g, "\n"));
    const type = key.asymmetricKeyType;
    const bits = key.asymmetricKeyDetails?.modulusLength;
    if (type !== "rsa" && type !== "ed25519") problems.push(`the key is ${type}; DKIM uses RSA or Ed25519`);
    if (type === "rsa" && bits !== undefined && bits < 1024) problems.push(`the RSA key has ${bits} bits; receivers ignore DKIM keys under 1024`);
    const data = Buffer.from("rapport doctor");
    const algo = type === "rsa" ? "sha256" : null;
    if (!verify(algo, data, createPublicKey(key), sign(algo, data, key))) problems.push("the key does not verify its own signature");
    if (problems.length) return { name: "dkim", status: "fail", detail: problems.join("; ") };
    const weak = type === "rsa" && bits !== undefined && bits < 2048;
    return { name: "dkim", status: weak ? "warn" : "ok", detail: `${c.DKIM_SELECTOR}._domainkey.${c.DKIM_DOMAIN}: ${type}${bits ? ` ${bits} bits` : ""}${weak ? " (use 2048)" : ""}; publish the public key in DNS` };
  } catch (err) {
    problems.push(`DKIM_PRIVATE_KEY cannot be read: ${message(err)}`);
    return { name: "dkim", status: "fail", detail: problems.join("; ") };
  }
}

/** A rough strength: distinct characters and classes, since a long secret can still be "aaaa...". */
function weakness(v: string): string | null {
  const distinct = new Set(v).size;
  if (distinct < 10) return `only ${distinct} distinct characters`;
  if (/^(.{1,8})\1+$/.test(v)) return "a repeated pattern";
  if (/secret|password|changeme|example|test/i.test(v)) return "a guessable word";
  return null;
}

export function secrets(c: Pick<typeof config, "RAPPORT_SECRET" | "RAPPORT_ADMIN_KEY" | "isProduction"> = config): Check {
  const notes: string[] = [];
  let status: Status = "ok";
  if (!c.RAPPORT_SECRET) {
    if (c.isProduction) return { name: "secrets", status: "fail", detail: "RAPPORT_SECRET is unset" };
    notes.push("RAPPORT_SECRET unset: a generated secret kept in the database (development)");
  } else {
    const w = weakness(c.RAPPORT_SECRET);
    if (w) (status = c.isProduction ? "fail" : "warn"), notes.push(`RAPPORT_SECRET is weak: ${w} (openssl rand -hex 32)`);
    else notes.push(`RAPPORT_SECRET: ${c.RAPPORT_SECRET.length} characters`);
  }
  if (c.RAPPORT_ADMIN_KEY) {
    const w = weakness(c.RAPPORT_ADMIN_KEY);
    if (w) (status = status === "fail" || c.isProduction ? "fail" : "warn"), notes.push(`RAPPORT_ADMIN_KEY is weak: ${w}`);
    else notes.push("RAPPORT_ADMIN_KEY set");
  }
  return { name: "secrets", status, detail: notes.join("; ") };
}

export function publicUrl(c: Pick<typeof config, "publicUrl" | "isProduction" | "RAPPORT_PUBLIC_URL"> = config): Check {
  const u = new URL(c.publicUrl);
  const local = /^(localhost|127\.|\[::1\]|0\.0\.0\.0)/.test(u.hostname);
  const problems = [
    ...(c.isProduction && u.protocol !== "https:" ? ["not https: links in emails (unsubscribe, preferences) travel in clear"] : []),
    ...(c.isProduction && local ? ["a local address: recipients cannot open the links"] : []),
  ];
  if (problems.length) return { name: "public-url", status: "fail", detail: `${c.publicUrl}: ${problems.join("; ")}` };
  return { name: "public-url", status: !c.RAPPORT_PUBLIC_URL && !c.isProduction ? "warn" : "ok", detail: `${c.publicUrl}${c.RAPPORT_PUBLIC_URL ? "" : " (default; set RAPPORT_PUBLIC_URL)"}` };
}

async function engine(url: string): Promise<Check> {
  try {
    const r = await within(5000, fetch(`${url}/readyz`), "engine");
    const body = (await r.json()) as { checks?: Record<string, string> };
    return { name: "engine", status: r.ok ? "ok" : "fail", detail: `${url}/readyz ${r.status} ${JSON.stringify(body.checks ?? {})}` };
  } catch (err) {
    return { name: "engine", status: "fail", detail: `${url}: ${message(err)}` };
  }
}

async function ledger(): Promise<Check> {
  const { verifyAllLedgers } = await import("../modules/consent/ledger.service.ts");
  const { closeDb } = await import("../platform/prisma.ts");
  try {
    const r = await verifyAllLedgers({ pageSize: 1000, limit: 1000 });
    const summary = `${r.rows} rows of ${r.customers} customers${r.unchained ? ` (${r.unchained} from before chaining)` : ""}`;
    if (r.broken === 0) return { name: "ledger", status: "ok", detail: `consent ledger chains verify: ${summary}` };
    const rows = r.invalid.slice(0, 10).map((i) => `customer ${i.customerId} row ${i.id}`).join(", ");
    return { name: "ledger", status: "fail", detail: `${r.broken} broken chain(s) in ${summary}; first invalid: ${rows}`, invalid: r.invalid };
  } catch (err) {
    return { name: "ledger", status: "fail", detail: message(err) };
  } finally {
    await closeDb();
  }
}

export async function runDoctor(opts: { engineUrl?: string } = {}): Promise<Check[]> {
  const [pgCheck, redisCheck, smtpCheck] = await Promise.all([postgres(), redis(), smtp()]);
  const checks = [pgCheck, redisCheck, smtpCheck, dkim(), secrets(), publicUrl()];
  if (opts.engineUrl) checks.push(await engine(opts.engineUrl));
  checks.push(pgCheck.status === "fail" ? { name: "ledger", status: "fail", detail: "not checked: PostgreSQL is unreachable" } : await ledger());
  return checks;
}
