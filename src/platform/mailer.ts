// One pooled nodemailer SMTP transport per process. Messages are composed elsewhere (cheaply, as raw
// MIME) and handed over here, to the pool directly when they can (raw-mail.ts); DKIM signing, when
// configured, is nodemailer's either way.
import nodemailer, { type Transporter } from "nodemailer";
import { config } from "./config.ts";
import { installFastDotStuffing } from "./dot-stuff.ts";
import { logger } from "./logger.ts";
import { prebuiltMail, sendToPool } from "./raw-mail.ts";

// DATA transparency by memchr instead of a loop per byte (dot-stuff.ts); same bytes on the wire.
if (!(await installFastDotStuffing())) logger.warn("nodemailer's DATA transparency rules differ from dot-stuff.ts: keeping nodemailer's");

let transport: Transporter | null = null;

const CONNECTION_TIMEOUT_MS = 30_000;
const SOCKET_TIMEOUT_MS = 60_000;
// nodemailer's pool queues without bound. Handing it at most two messages per connection keeps every
// connection busy while a message waits here instead, where its sender can still check that it should
// go (consent, claim age) right before the hand-off. Two, not more: a message handed over may wait
// behind one other for up to socketTimeout, and half the claim timeout (when a sender stops using a
// claim) plus that wait must stay below the claim timeout (150 s + 2 x 60 s < 300 s by default).
const SLOTS_PER_CONNECTION = 2;
/** The longest a message handed to nodemailer can take until SMTP answers or the attempt fails. */
export const MAX_HANDOFF_MS = 2 * CONNECTION_TIMEOUT_MS + SLOTS_PER_CONNECTION * SOCKET_TIMEOUT_MS;
let smtpUrl: string | null = config.SMTP_URL ?? null;

/** Used when the embedded development SMTP server is running (SMTP_URL unset). */
export function setSmtpUrl(url: string): void {
  smtpUrl = url;
}

export function mailer(): Transporter {
  if (!transport) {
    if (!smtpUrl) throw new Error("no SMTP server configured: set SMTP_URL");
    const url = new URL(smtpUrl);
    const dkim =
      config.DKIM_DOMAIN && config.DKIM_SELECTOR && config.DKIM_PRIVATE_KEY
        ? {
            domainName: config.DKIM_DOMAIN,
            keySelector: config.DKIM_SELECTOR,
            privateKey: config.DKIM_PRIVATE_KEY.replace(/\\n/g, "\n"),
            // nodemailer's default list leaves List-Unsubscribe-Post out; RFC 8058 requires it signed.
            headerFieldNames:
              "From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:Content-Transfer-Encoding:List-Id:List-Unsubscribe:List-Unsubscribe-Post",
          }
        : undefined;
    transport = nodemailer.createTransport({
      pool: true,
      maxConnections: config.SMTP_POOL_SIZE,
      maxMessages: Infinity,
      // Bounded so that a hung server cannot hold a claimed message (or a shutdown) for long.
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      greetingTimeout: CONNECTION_TIMEOUT_MS,
      socketTimeout: SOCKET_TIMEOUT_MS,
      host: url.hostname,
      port: Number(url.port || (url.protocol === "smtps:" ? 465 : 25)),
      secure: url.protocol === "smtps:",
      auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
      tls: { rejectUnauthorized: url.searchParams.get("tls_reject_unauthorized") !== "false" },
      dkim,
    });
  }
  return transport;
}

export interface OutgoingRaw {
  from: string;
  to: string;
  raw: string | Buffer;
  /**
   * The Message-ID already in `raw` (with angle brackets). Without it nodemailer invents one for its
   * own bookkeeping: five random reads per message, ~5% of a delivery worker's CPU.
   */
  messageId?: string;
}

export interface SmtpResult {
  messageId?: string;
  response: string;
}

let slotsFree = config.SMTP_POOL_SIZE * SLOTS_PER_CONNECTION;
// Waiting senders, lowest rank first (first come, first served within a rank).
const slotWaiters: Array<{ rank: number; resolve: (release: () => void) => void }> = [];

function slotRelease(): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const next = slotWaiters.shift();
    if (next) next.resolve(slotRelease());
    else slotsFree++;
  };
}

/** Room in the SMTP pool now (call the returned function once SMTP answered), or null. */
export function takeSmtpSlot(): (() => void) | null {
  if (slotsFree === 0 || slotWaiters.length > 0) return null;
  slotsFree--;
  return slotRelease();
}

/**
 * Waits for room in the SMTP pool. Lower ranks are served first: a delivery batch passes its own
 * order, so that batches hand over one after another instead of interleaving (each batch then
 * finishes within its consent re-read window, and its claim is used while young).
 */
export function waitSmtpSlot(rank = 0): Promise<() => void> {
  return new Promise((resolve) => {
    let i = slotWaiters.length;
    while (i > 0 && slotWaiters[i - 1].rank > rank) i--;
    slotWaiters.splice(i, 0, { rank, resolve });
  });
}

export async function sendRaw(msg: OutgoingRaw): Promise<SmtpResult> {
  const t = mailer();
  // Without a Message-ID (nodemailer invents one) or with an envelope it would rewrite, sendMail does it.
  const mail = msg.messageId ? prebuiltMail(msg.from, msg.to, msg.raw, msg.messageId, t.dkim) : null;
  const info = mail ? await sendToPool(t, mail) : await t.sendMail({ envelope: { from: msg.from, to: [msg.to] }, raw: msg.raw, messageId: msg.messageId });
  return { messageId: info.messageId, response: String(info.response ?? "") };
}

export function closeMailer(): void {
  transport?.close();
  transport = null;
}
