// A real SMTP server (smtp-server) that receives real MIME, parses it with mailparser, and can be
// told to answer the next messages with SMTP errors (421, 451, 550 5.1.1 ...) or to misbehave at
// random (the fault suite). Every attempt is recorded, accepted or not, so that "given up" can be
// told from "never tried".
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer, type SMTPServerSession } from "smtp-server";
import { sleep, waitUntil } from "./wait.ts";

export interface Received {
  from: string;
  to: string[];
  raw: string;
  /** Parsed by mailparser (not when the sink was created with `parse: false`). */
  parsed: ParsedMail;
  messageId: string;
  /** When the server accepted it (ms since epoch). */
  at: number;
  /** When its data had arrived, before any delay (ms since epoch). */
  arrivedAt: number;
}

export interface Attempt {
  to: string[];
  messageId: string;
  /** When the server answered (or dropped the connection), ms since epoch. */
  at: number;
  /** When its data had arrived, before any delay or answer (ms since epoch). */
  arrivedAt: number;
  /** The SMTP reply code: 250 accepted, 4xx/5xx rejected, 0 when the connection was dropped instead. */
  code: number;
}

/** Random misbehaviour, each a share of all messages (0..1); the rest are accepted. */
export interface Chaos {
  /** Answered 421 or 451 (half each). */
  transient?: number;
  /** Answered 550 5.1.1 (user unknown). */
  hardBounce?: number;
  /** The connection is dropped after the data arrived, with no answer. */
  drop?: number;
  /** The answer (250) comes only after `stallMs`. */
  stall?: number;
  stallMs?: number;
  /** Random source (tests may seed it). */
  random?: () => number;
}

type Verdict = { code: number; message: string } | "drop" | "stall" | null;

const messageIdOf = (raw: string) => /^message-id:\s*(<[^>\r\n]+>)/im.exec(raw)?.[1] ?? "";

export class SmtpSink {
  readonly received: Received[] = [];
  readonly attempts: Attempt[] = [];
  private server: SMTPServer;
  private scripted: Array<{ code: number; message: string }> = [];
  port = 0;
  /** A slow server: each message is answered this many ms after its data arrived. */
  delayMs = 0;
  chaos: Chaos | null = null;

  constructor(private readonly opts: { parse?: boolean } = {}) {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS", "AUTH"],
      logger: false,
      closeTimeout: 500,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => void this.answer(Buffer.concat(chunks).toString("utf8"), session, callback));
      },
    });
    // smtp-server reports a client's broken connection (a worker SIGKILLed mid-message: ECONNRESET)
    // as a server 'error' event; a real MTA shrugs it off, and so does this one.
    this.server.on("error", () => undefined);
  }

  private verdict(): Verdict {
    const next = this.scripted.shift();
    if (next) return next;
    const c = this.chaos;
    if (!c) return null;
    const x = (c.random ?? Math.random)();
    let edge = c.transient ?? 0;
    if (x < edge) return x < edge / 2 ? { code: 421, message: "4.3.2 Try again later" } : { code: 451, message: "4.7.1 Greylisted" };
    if (x < (edge += c.hardBounce ?? 0)) return { code: 550, message: "5.1.1 <rcpt>: user unknown" };
    if (x < (edge += c.drop ?? 0)) return "drop";
    if (x < (edge += c.stall ?? 0)) return "stall";
    return null;
  }

  private async answer(raw: string, session: SMTPServerSession, callback: (err?: Error | null) => void) {
    const arrivedAt = Date.now();
    if (this.delayMs > 0) await sleep(this.delayMs);
    const to = session.envelope.rcptTo.map((r) => r.address);
    const messageId = messageIdOf(raw);
    const v = this.verdict();
    if (v === "drop") {
      this.attempts.push({ to, messageId, at: Date.now(), arrivedAt, code: 0 });
      return this.connection(session)?._socket?.destroy();
    }
    if (v === "stall") {
      await sleep(this.chaos?.stallMs ?? 3000);
      if (this.connection(session)?._socket?.destroyed !== false) {
        this.attempts.push({ to, messageId, at: Date.now(), arrivedAt, code: 0 });
        return;
      }
    }
    if (v && v !== "stall") {
      this.attempts.push({ to, messageId, at: Date.now(), arrivedAt, code: v.code });
      return callback(Object.assign(new Error(v.message), { responseCode: v.code }));
    }
    const at = Date.now();
    this.attempts.push({ to, messageId, at, arrivedAt, code: 250 });
    this.received.push({
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
      to,
      raw,
      parsed: this.opts.parse === false ? ({} as ParsedMail) : await simpleParser(raw),
      messageId,
      at,
      arrivedAt,
    });
    callback();
  }

  private connection(session: SMTPServerSession): { _socket?: { destroy(): void; destroyed: boolean } } | undefined {
    const all = (this.server as unknown as { connections: Set<{ id: string; _socket?: { destroy(): void; destroyed: boolean } }> }).connections;
    for (const c of all) if (c.id === session.id) return c;
    return undefined;
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

  private static addressed<T extends { to: string[] }>(list: T[], address: string): T[] {
    return list.filter((m) => m.to.includes(address.toLowerCase()) || m.to.includes(address));
  }

  /** Messages accepted for `address`. */
  to(address: string): Received[] {
    return SmtpSink.addressed(this.received, address);
  }

  /** Every attempt to deliver to `address`, accepted or not. */
  attemptsTo(address: string): Attempt[] {
    return SmtpSink.addressed(this.attempts, address);
  }

  /** Waits until `count` messages reached `address` (or throws after timeoutMs). */
  async waitFor(address: string, count = 1, timeoutMs = 15_000): Promise<Received[]> {
    await waitUntil(() => this.to(address).length >= count, `${count} message(s) to ${address} (got ${this.to(address).length})`, timeoutMs);
    return this.to(address);
  }

  /** Waits until `count` attempts (accepted or not) were made to `address`. */
  async waitForAttempts(address: string, count = 1, timeoutMs = 15_000): Promise<Attempt[]> {
    await waitUntil(() => this.attemptsTo(address).length >= count, `${count} attempt(s) to ${address}`, timeoutMs);
    return this.attemptsTo(address);
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}
