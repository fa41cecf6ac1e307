// Embedded development SMTP server: when SMTP_URL is unset the engine still sends through nodemailer
// over real SMTP, to this server, which keeps each message in the dev_outbox table (visible to every
// process) for GET /dev/outbox.
import { SMTPServer } from "smtp-server";
import { simpleParser } from "mailparser";
import { config } from "../../platform/config.ts";
import { logger } from "../../platform/logger.ts";
import { setSmtpUrl } from "../../platform/mailer.ts";
import { db } from "../../platform/prisma.ts";

export interface DevSmtp {
  port: number;
  close(): Promise<void>;
}

export async function startDevSmtp(port = config.DEV_SMTP_PORT): Promise<DevSmtp | null> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    // On shutdown, pooled client connections are cut after 1 s instead of the default 30 s.
    closeTimeout: 1000,
    size: 25 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        simpleParser(raw)
          .then((parsed) =>
            db.devOutboxMessage.create({
              data: {
                envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
                envelopeTo: session.envelope.rcptTo.map((r) => r.address),
                subject: parsed.subject ?? null,
                raw,
              },
            }),
          )
          .then(() => callback(), (err: Error) => callback(err));
      });
    },
  });
  const bound = await new Promise<number | null>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => (err.code === "EADDRINUSE" ? resolve(null) : reject(err)));
    server.listen(port, "127.0.0.1", () => resolve((server.server.address() as { port: number }).port));
  });
  // Another Rapport process on this host already serves the outbox on that port: share it.
  const actual = bound ?? port;
  setSmtpUrl(`smtp://127.0.0.1:${actual}`);
  if (bound === null) {
    logger.info({ port }, "dev SMTP port in use, sending to the existing outbox server");
    return null;
  }
  logger.info({ port: actual }, "embedded dev SMTP server (outbox) listening");
  return { port: actual, close: () => new Promise<void>((r) => server.close(() => r())) };
}
