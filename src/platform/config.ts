// The only reader of process.env. Everything else imports `config`.
import { availableParallelism } from "node:os";
import { z } from "zod";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  RAPPORT_ROLE: z.enum(["all", "api", "worker"]).default("all"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default("0.0.0.0"),
  DATABASE_URL: z.string().url().default("postgresql://postgres@127.0.0.1:5432/rapport"),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  // Create the database named in DATABASE_URL when it does not exist (development convenience).
  DATABASE_CREATE: bool.optional(),
  // Apply pending migrations on start (advisory-locked by Prisma, safe with many processes).
  DATABASE_MIGRATE: bool.default(true),
  REDIS_URL: z.string().url().default("redis://127.0.0.1:6379"),
  // Prefix of every BullMQ key; lets tests and tenants share one Redis.
  QUEUE_PREFIX: z.string().regex(/^[a-zA-Z0-9_-]+$/).default("rapport"),
  // Unset: an embedded SMTP server captures mail into the dev outbox (GET /dev/outbox).
  SMTP_URL: z.string().url().optional(),
  SMTP_POOL_SIZE: z.coerce.number().int().min(1).max(50).default(5),
  // Messages per second handed to the SMTP transport across all worker processes.
  SMTP_RATE_PER_SECOND: z.coerce.number().int().min(1).max(100000).default(1000),
  // Share of SMTP_RATE_PER_SECOND that campaigns may not use: kept for transactional mail and the send API.
  SMTP_TRANSACTIONAL_RESERVE: z.coerce.number().min(0.01).max(0.9).default(0.1),
  DEV_SMTP_PORT: z.coerce.number().int().min(0).max(65535).default(2525),
  RAPPORT_PUBLIC_URL: z.string().url().optional(),
  RAPPORT_ADMIN_KEY: z.string().min(24, "RAPPORT_ADMIN_KEY must be at least 24 characters").optional(),
  RAPPORT_SECRET: z.string().min(32, "RAPPORT_SECRET must be at least 32 characters").optional(),
  // The `rapport` CLI: the engine it talks to over HTTP, and the API key it sends.
  RAPPORT_URL: z.string().url().optional(),
  RAPPORT_API_KEY: z.string().optional(),
  // Sender identity, used by layouts (CAN-SPAM needs the postal address in marketing mail).
  SENDER_NAME: z.string().default("Rapport"),
  SENDER_EMAIL: z.string().email().default("hello@rapport.localhost"),
  SENDER_REPLY_TO: z.string().email().optional(),
  SENDER_POSTAL_ADDRESS: z.string().default("Rapport, 1 Example Street, 00000 Example City"),
  // Marketing frequency cap: at most N marketing messages per customer per rolling window.
  FREQUENCY_CAP_COUNT: z.coerce.number().int().min(0).default(0),
  FREQUENCY_CAP_DAYS: z.coerce.number().int().min(1).default(7),
  DKIM_DOMAIN: z.string().optional(),
  DKIM_SELECTOR: z.string().optional(),
  DKIM_PRIVATE_KEY: z.string().optional(),
  // Hours a double opt-in confirmation link stays valid.
  CONFIRM_TOKEN_TTL_HOURS: z.coerce.number().int().min(1).default(72),
  // Bulk imports, JSON or CSV (10,000 JSON rows are ~6 MB); every other JSON body has API_BODY_LIMIT.
  // Larger bodies are refused with 413.
  BODY_LIMIT: z.string().refine((v) => parseSize(v) !== null, "a size such as 16mb").default("16mb"),
  API_BODY_LIMIT: z.string().refine((v) => parseSize(v) !== null, "a size such as 4mb").default("4mb"),
  // Which proxies may set X-Forwarded-For (Express "trust proxy"): the client IP goes into the
  // consent ledger as evidence, so only trusted hops count. E.g. "loopback", "10.0.0.0/8", "1".
  // A number is a hop count and "true"/"false" a boolean for Express; anything else a list of
  // addresses/subnets/names. (Given as a string, "1" would be read as an address and trust nothing.)
  TRUST_PROXY: z
    .string()
    .default("loopback")
    .transform((v): string | number | boolean => (/^\d+$/.test(v) ? Number(v) : v === "true" ? true : v === "false" ? false : v)),
  // Slow clients (slowloris): all headers within HTTP_HEADERS_TIMEOUT_MS, the whole request (body
  // included: a 16 MB import on a slow link) within HTTP_REQUEST_TIMEOUT_MS, idle keep-alive sockets
  // closed after HTTP_KEEP_ALIVE_TIMEOUT_MS; at most HTTP_MAX_CONNECTIONS sockets at once and
  // HTTP_MAX_REQUESTS_PER_SOCKET requests on one. See src/api/server.ts.
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(120_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).default(5_000),
  HTTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).default(2_000),
  HTTP_MAX_REQUESTS_PER_SOCKET: z.coerce.number().int().min(1).default(1_000),
  // Import uploads in flight at once per API key (more: 429 with Retry-After).
  IMPORT_UPLOADS_PER_KEY: z.coerce.number().int().min(1).max(100).default(2),
  // When set, GET /metrics requires "Authorization: Bearer <METRICS_TOKEN>"; unset, loopback only.
  METRICS_TOKEN: z.string().min(16).optional(),
  // Send pipeline (messages): ids per delivery job, jobs in flight per worker process, SMTP retries.
  SEND_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
  // Delivery jobs taken at once per worker process; their ids are coalesced into shared batches.
  SEND_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(32),
  SEND_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  // Exponential backoff with jitter for 4xx and connection errors: base * 2^(attempt-1), capped.
  SEND_RETRY_BASE_MS: z.coerce.number().int().min(1).default(60_000),
  SEND_RETRY_MAX_MS: z.coerce.number().int().min(1).default(3_600_000),
  // A row left in `sending` this long (worker crashed) is released to `queued` by the sweep.
  SEND_CLAIM_TIMEOUT_MS: z.coerce.number().int().min(1000).default(300_000),
  // How often the sweep runs (one process at a time, Redis lock; also at once after Redis lost its data).
  SEND_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(30_000),
  // A queued row untouched this much longer than the oldest delivery job still in the queue has lost its job.
  SEND_SWEEP_QUEUED_AFTER_MS: z.coerce.number().int().min(100).default(5_000),
  // Template preparation (parse, lint, CSS inlining, text derivation, Handlebars compile) runs in a
  // small worker-thread pool, never on the event loop. A job past the timeout is stopped: 422
  // "template too complex" at save and preview, a failed message at send time.
  TEMPLATE_PREPARE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  // Threads of that pool, created on first use. One per spare core, at most two by default.
  TEMPLATE_PREPARE_THREADS: z.coerce.number().int().min(1).max(16).default(Math.max(1, Math.min(2, availableParallelism() - 1))),
  // Worker threads per process that render and compose delivery batches, off the event loop that
  // claims, checks consent and talks SMTP (0: on the event loop). One, when the machine has a spare core.
  DELIVERY_BUILD_THREADS: z.coerce.number().int().min(0).max(8).default(availableParallelism() > 1 ? 1 : 0),
  // How long a consent withdrawal (or another stop) waits for messages already handed to SMTP; then 503.
  HANDOFF_STOP_WAIT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  // Outbound webhooks. Private, loopback and link-local targets are refused (SSRF) unless allowed.
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  // Standard Webhooks retry schedule: the delay before each attempt (the first is immediate), in ms.
  WEBHOOK_RETRY_SCHEDULE_MS: z
    .string()
    .regex(/^\d+(,\d+)*$/, "a comma-separated list of milliseconds")
    .default("0,5000,300000,1800000,7200000,18000000,36000000,36000000")
    .transform((v) => v.split(",").map(Number)),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  // An endpoint failing without a single success for this long is disabled (default 5 days).
  WEBHOOK_DISABLE_AFTER_MS: z.coerce.number().int().min(1000).default(5 * 24 * 3600 * 1000),
  WEBHOOK_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(60_000),
  // A running campaign pauses itself when more than this share of its last 500 SMTP attempts failed
  // or bounced (checked once a second, from 20 attempts on).
  // A fan-out whose checkpoint has not moved for this long is started again (its job was lost).
  CAMPAIGN_FANOUT_STALL_MS: z.coerce.number().int().min(1000).default(30_000),
  CAMPAIGN_MAX_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0.1),
  // Inbound mail (src/modules/inbound): the domain of the signed return path (VERP) every message is
  // sent with, bounces+<messageId>.<signature>@<domain>; default: the domain of SENDER_EMAIL.
  RETURN_PATH_DOMAIN: z.string().regex(/^[a-zA-Z0-9.-]+$/, "a domain name").optional(),
  // Soft bounces of one address (distinct messages) within SOFT_BOUNCE_WINDOW_DAYS that suppress it.
  SOFT_BOUNCE_LIMIT: z.coerce.number().int().min(1).default(3),
  SOFT_BOUNCE_WINDOW_DAYS: z.coerce.number().int().min(1).default(7),
  // Port of the inbound SMTP listener for bounces, complaints and replies to signed return paths;
  // unset: no listener. INBOUND_SMTP_HOST: its address.
  INBOUND_SMTP_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  INBOUND_SMTP_HOST: z.string().default("0.0.0.0"),
  // A fixed address the listener also takes mail for (feedback loops send ARF reports to one registered
  // address, not to the return path); such a report counts only when it names a signed return path.
  INBOUND_REPORT_ADDRESS: z.string().email().optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type Config = z.infer<typeof schema> & { publicUrl: string; isProduction: boolean; bodyLimitBytes: number };

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
/** "16mb", "512kb", "1048576": the size notation of body-parser's limits, in bytes. */
export function parseSize(v: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(v.trim());
  return m ? Math.floor(Number(m[1]) * UNITS[(m[2] ?? "b").toLowerCase()]) : null;
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings in the environment mean "not set".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join("\n  ")}`);
  }
  const c = parsed.data;
  const isProduction = c.NODE_ENV === "production";
  if (isProduction && !c.RAPPORT_SECRET) {
    throw new ConfigError("RAPPORT_SECRET is required when NODE_ENV=production (at least 32 random characters).");
  }
  if (isProduction && !c.RAPPORT_PUBLIC_URL) {
    throw new ConfigError("RAPPORT_PUBLIC_URL is required when NODE_ENV=production (links in emails point to it).");
  }
  const publicUrl = (c.RAPPORT_PUBLIC_URL ?? `http://localhost:${c.PORT}`).replace(/\/+$/, "");
  return { ...c, DATABASE_CREATE: c.DATABASE_CREATE ?? !isProduction, publicUrl, isProduction, bodyLimitBytes: parseSize(c.BODY_LIMIT)! };
}

export const config: Config = loadConfig();
