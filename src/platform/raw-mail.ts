// Pre-built raw MIME straight to nodemailer's SMTP pool. Mail.sendMail wraps a raw message in a
// MimeNode, runs its plugins, normalises header keys and re-parses the envelope addresses: ~100 µs per
// message whose result, for a plain envelope and a given Message-ID, is what we hand it already. The
// pool only needs the mail object of its transport contract (smtp-pool send, pool-resource send):
// mail.data and mail.message.{getHeader, getEnvelope, messageId, createReadStream}.
import { Readable } from "node:stream";
import type { Transporter } from "nodemailer";
import type DKIM from "nodemailer/lib/dkim";

// An address that nodemailer's envelope parsing (addressparser, then _normalizeAddress) gives back
// unchanged: a dot-atom local part and a lower-case ASCII domain. The last label starts with a letter
// because the URL host parser reads a numeric one as IPv4 ("a@0x7f.1" goes to a@127.0.0.1).
// src/platform/raw-mail.test.ts checks that claim against nodemailer; anything else takes sendMail.
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
export const PLAIN_ADDRESS = new RegExp(`^${ATEXT}+(?:\\.${ATEXT}+)*@(?:[a-z0-9-]+\\.)*[a-z][a-z0-9-]*$`);

export interface PoolMail {
  /** What the pool reads here (dsn, signal, requireTLSExtensionEnabled) does not apply. */
  data: Record<string, never>;
  message: {
    getHeader(key: string): string | undefined;
    getEnvelope(): { from: string; to: string[] };
    messageId(): string;
    createReadStream(): Readable | BufferSource;
  };
}

export interface PoolInfo {
  messageId?: string;
  response?: string;
}

// The SMTP pool that createTransport({ pool: true }) wraps (Mail keeps it as `transporter`). Its
// declared send() takes a full MailMessage; the pool reads no more of it than PoolMail holds.
interface SmtpPool {
  send(mail: PoolMail, callback: (err: Error | null, info?: PoolInfo) => void): void;
}

/**
 * The mail object for the pool, or null when the envelope is not plain (then sendMail must do it).
 * `dkim`: the transporter's `dkim` (false without DKIM options).
 */
export function prebuiltMail(from: string, to: string, raw: string | Buffer, messageId: string, dkim: DKIM | false): PoolMail | null {
  if (!PLAIN_ADDRESS.test(from) || !PLAIN_ADDRESS.test(to)) return null;
  const body = withLastNewline(raw);
  return {
    data: {},
    message: {
      getHeader: (key) => (key.toLowerCase() === "message-id" ? messageId : undefined),
      // A new envelope per attempt: the SMTP connection writes its state into the one it is given.
      getEnvelope: () => ({ from, to: [to] }),
      messageId: () => messageId,
      // Called again when the pool re-queues a message whose connection closed before any byte was
      // read. `dkim` is the transport's own signer (Mail's `dkim`), the one sendMail signs with.
      createReadStream: () => (dkim ? dkim.sign(body) : bufferStream(body)),
    },
  };
}

/** Hands the mail to the pool under `transport`; settles as sendMail would (same info, same errors). */
export function sendToPool(transport: Transporter, mail: PoolMail): Promise<PoolInfo> {
  const pool = transport.transporter as unknown as SmtpPool;
  return new Promise((resolve, reject) => pool.send(mail, (err, info) => (err ? reject(err) : resolve(info ?? {}))));
}

// As nodemailer's LastNewline transform (mime-node/last-newline.js) ends every message it streams.
function withLastNewline(raw: string | Buffer): Buffer {
  const buf = typeof raw === "string" ? Buffer.from(raw) : raw;
  const last = buf.length > 0 ? buf[buf.length - 1] : -1;
  if (last === 0x0a) return buf;
  return Buffer.concat([buf, Buffer.from(last === 0x0d ? "\n" : "\r\n")]);
}

/**
 * What the SMTP connection needs of a message without DKIM: `pipe` into its DataStream (send() pipes
 * anything that has one) and `readableDidRead`, which the pool reads after a failure: false means no
 * byte left, so the message may go out over another connection. A Readable over the buffer did the
 * same with a stream, its buffering and its events per message (~2% of a delivery worker's CPU).
 * Without `on`, send() registers no error listener: writing a buffer cannot fail here.
 */
export interface BufferSource {
  readableDidRead: boolean;
  pipe<T extends NodeJS.WritableStream>(dest: T): T;
}

function bufferStream(buf: Buffer): BufferSource {
  return {
    readableDidRead: false,
    pipe(dest) {
      this.readableDidRead = true;
      dest.end(buf);
      return dest;
    },
  };
}
