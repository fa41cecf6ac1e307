// Starts the engine: RAPPORT_ROLE=all (default) runs API and workers in one process; api or worker apart.
import type { Server } from "node:http";
import { createApp } from "./api/app.ts";
import { listen } from "./api/server.ts";
import { config } from "./platform/config.ts";
import { bootstrapPlatform } from "./platform/bootstrap.ts";
import { startDevSmtp, type DevSmtp } from "./modules/dev-outbox/dev-smtp.ts";
import { startInboundSmtp, type InboundSmtp } from "./modules/inbound/smtp-listener.ts";
import { logger } from "./platform/logger.ts";
import { closeDb } from "./platform/prisma.ts";
import { closeQueues } from "./platform/queues.ts";
import { flushScheduledDeliveries } from "./modules/delivery/dispatch.ts";
import { closeRedis } from "./platform/redis.ts";
import { closeMailer } from "./platform/mailer.ts";
import { closeTemplatePool, preparePool } from "./templates/pool.ts";
import { closeBuildThreads, warmBuildThreads } from "./modules/delivery/build-threads.ts";
import { startWorkers, type RunningWorkers } from "./workers/index.ts";
import { ensureDevAdminKey } from "./modules/api-keys/bootstrap-admin.ts";

export async function run(): Promise<void> {
  await bootstrapPlatform();
  let devSmtp: DevSmtp | null = null;
  if (!config.SMTP_URL) devSmtp = await startDevSmtp();

  // Every role prepares templates: delivery renders each new version first, the API checks a version
  // at schedule and previews it. The thread loads its libraries (~0.5 s of CPU) now, before the
  // process listens or takes jobs, not during the first preview, schedule or campaign message.
  // Likewise a worker's build thread (rendering and composing off the event loop), before the first batch.
  await Promise.all([
    preparePool()
      .warm()
      .catch((err: Error) => logger.warn({ err: err.message }, "template preparation thread did not start; the first preparation starts one")),
    config.RAPPORT_ROLE === "api" ? null : warmBuildThreads().catch((err: Error) => logger.warn({ err: err.message }, "build thread did not start; the first batch starts one")),
  ]);
  let server: Server | null = null;
  let workers: RunningWorkers | null = null;
  if (config.RAPPORT_ROLE !== "worker") {
    server = await listen(createApp(), config.PORT, config.HOST);
  }
  // The MX of the return-path domain, when configured (off by default); runs with the API.
  let inboundSmtp: InboundSmtp | null = null;
  if (config.INBOUND_SMTP_PORT !== undefined && config.RAPPORT_ROLE !== "worker") inboundSmtp = await startInboundSmtp();
  if (config.RAPPORT_ROLE !== "api") {
    workers = startWorkers();
  }
  const firstKey = server ? await ensureDevAdminKey() : null;
  if (firstKey) {
    // Shown once, on the terminal only (not through the logger: logs never carry keys).
    process.stdout.write(
      `\nrapport: created the first admin API key (shown only now, stored hashed):\n\n  ${firstKey}\n\n` +
        `Sign in to the console at ${config.publicUrl}/console with it.\n\n`,
    );
  }
  logger.info(
    { role: config.RAPPORT_ROLE, port: server ? config.PORT : undefined, outbox: devSmtp ? `${config.publicUrl}/dev/outbox` : undefined },
    "rapport started",
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    // Accepted messages whose job is still in its coalescing window (the API answers before it).
    await flushScheduledDeliveries();
    await inboundSmtp?.close();
    await workers?.close();
    await closeTemplatePool();
    await closeBuildThreads();
    await devSmtp?.close();
    closeMailer();
    await closeQueues();
    await closeRedis();
    await closeDb();
    process.exit(0);
  };
  // A stray rejection is a bug to log, not a reason to drop every in-flight send and claim (Node's
  // default is to exit). Only the message: error objects from SMTP or SQL can carry addresses.
  process.on("unhandledRejection", (err) => logger.error({ err: err instanceof Error ? err.message : String(err) }, "unhandled rejection"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

