// The optional inbound SMTP listener (INBOUND_SMTP_PORT): the MX for RETURN_PATH_DOMAIN. It takes
// mail only for correctly signed return-path addresses (RCPT TO refused otherwise: no open relay, no
// backscatter, and nobody can name a message of ours without the key), and feeds each message to
// the same use case as POST /v1/inbound/mime, bound to the message its address names. Mail to
// INBOUND_REPORT_ADDRESS (feedback loops) is taken too, and counts only where a signed return path
// inside it (ARF Original-Mail-From, the returned Return-Path) names the message.
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from "smtp-server";
import { config } from "../../platform/config.ts";
import { AppError } from "../../platform/errors.ts";
import { logger } from "../../platform/logger.ts";
import { receiveMime } from "./inbound.service.ts";
import { verifyReturnPath } from "./return-path.ts";

export interface InboundSmtp {
  port: number;
  close(): Promise<void>;
}

const MAX_SIZE = 10 * 1024 * 1024;

const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

export async function startInboundSmtp(
  port = config.INBOUND_SMTP_PORT ?? 0,
  host = config.INBOUND_SMTP_HOST,
  reportAddress = config.INBOUND_REPORT_ADDRESS,
): Promise<InboundSmtp> {
  const isReportAddress = (a: string) => reportAddress !== undefined && a.trim().toLowerCase() === reportAddress.toLowerCase();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    logger: false,
    closeTimeout: 1000,
    size: MAX_SIZE,
    onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, callback: (err?: Error | null) => void) {
      if (!verifyReturnPath(address.address) && !isReportAddress(address.address)) return callback(smtpError(550, "5.1.1 No such recipient here"));
      // One message per report: a second signed recipient in one transaction would be ambiguous.
      if (session.envelope.rcptTo.length > 0) return callback(smtpError(452, "4.5.3 One recipient per message, please"));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded) return callback(smtpError(552, "5.3.4 Message too big"));
        const rcpt = session.envelope.rcptTo[0]?.address ?? "";
        const messageId = verifyReturnPath(rcpt);
        if (!messageId && !isReportAddress(rcpt)) return callback(smtpError(554, "5.5.1 No valid recipient"));
        const bound = messageId ? { envelopeMessageId: messageId } : { signedOnly: true };
        receiveMime(Buffer.concat(chunks), { channel: "smtp", actor: "system", ...bound }).then(
          () => callback(),
          (err: Error) => {
            // Not ours or not readable: accepted and dropped (refusing would bounce a bounce).
            if (err instanceof AppError && err.status < 500) {
              logger.info({ reason: err.message }, "inbound SMTP: message dropped");
              return callback();
            }
            logger.warn({ err: err.message }, "inbound SMTP: could not apply a report; the sender will retry");
            callback(smtpError(451, "4.3.0 Try again later"));
          },
        );
      });
    },
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve((server.server.address() as { port: number }).port));
  });
  logger.info({ port: bound }, "inbound SMTP listener (bounces, complaints, replies) listening");
  return { port: bound, close: () => new Promise<void>((r) => server.close(() => r())) };
}
