// A real SMTP server (smtp-server) that receives real MIME, parses it with mailparser, and can be
// told to answer the next messages with SMTP errors (421, 451, 550 5.1.1 ...).
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface Received {
  from: string;
  to: string[];
  raw: string;
  parsed: ParsedMail;
  /** When the server accepted it (ms since epoch). */
  at: number;
  /** When its data had arrived, before any delay (ms since epoch). */
  arrivedAt: number;
}

/** Every DATA the server got, accepted or answered with an error. */
export interface Attempt {
  to: string[];
  messageId: string | null;
  /** When its data had arrived (ms since epoch), before any delay. */
  arrivedAt: number;
  /** The SMTP code answered. */
  code: number;
}

export class SmtpSink {
  readonly received: Received[] = [];
  readonly attempts: Attempt[] = [];
  private server: SMTPServer;
  private scripted: Array<{ code: number; message: string }> = [];
  port = 0;
  /** A slow server: each message is answered this many ms after its data arrived. */
  delayMs = 0;

  constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS", "AUTH"],
      logger: false,
      closeTimeout: 500,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", async () => {
          const arrivedAt = Date.now();
          const raw = Buffer.concat(chunks).toString("utf8");
          const to = session.envelope.rcptTo.map((r) => r.address);
          const messageId = /^Message-ID: *(.+?)\r?$/im.exec(raw.slice(0, raw.indexOf("\r\n\r\n")))?.[1] ?? null;
          if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
          const next = this.scripted.shift();
          this.attempts.push({ to, messageId, arrivedAt, code: next?.code ?? 250 });
          if (next) {
            const err = Object.assign(new Error(next.message), { responseCode: next.code });
            return callback(err);
          }
          this.received.push({
            arrivedAt,
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to,
            raw,
            parsed: await simpleParser(raw),
            at: Date.now(),
          });
          callback();
        });
      },
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    this.port = (this.server.server.address() as { port: number }).port;
    return this;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** The next `times` messages are answered with this SMTP reply instead of 250. */
  failNext(code: number, message: string, times = 1): void {
    for (let i = 0; i < times; i++) this.scripted.push({ code, message });
  }

  to(address: string): Received[] {
    return this.received.filter((m) => m.to.includes(address.toLowerCase()) || m.to.includes(address));
  }

  /** Waits until `count` messages reached `address` (or throws after timeoutMs). */
  async waitFor(address: string, count = 1, timeoutMs = 15_000): Promise<Received[]> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const got = this.to(address);
      if (got.length >= count) return got;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${count} message(s) to ${address}; got ${this.to(address).length}`);
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}
