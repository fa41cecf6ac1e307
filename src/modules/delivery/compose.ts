// A lean MIME builder (multipart/alternative, base64 parts): ~20x cheaper than nodemailer's composer.
// Everything that depends only on the topic (From, Reply-To, List-Id) is built once and cached.
// The output is 7-bit ASCII with CRLF line ends, ready for nodemailer's `raw` option (DKIM still
// applies there).
import { config } from "../../platform/config.ts";

export interface ComposeInput {
  messageId: string;
  to: { email: string; name: string | null };
  subject: string;
  html: string;
  text: string;
  topic: { id: string; key: string; name: string; kind: "marketing" | "transactional" };
  /** One-click unsubscribe URL; sent as List-Unsubscribe(-Post) on marketing topics. */
  unsubscribeUrl: string;
  date?: Date;
}

export const senderDomain = () => config.SENDER_EMAIL.slice(config.SENDER_EMAIL.lastIndexOf("@") + 1);

/** Derived from the message id, so a retried send carries the same Message-ID. */
export const messageIdHeader = (messageId: string) => `<${messageId}@${senderDomain()}>`;

const ascii = /^[\x20-\x7e]*$/;

/** RFC 2047 B-encoding in words of at most 45 bytes of UTF-8, never splitting a character. */
function encodedWords(s: string): string {
  const words: string[] = [];
  let cur = "";
  for (const ch of s) {
    if (Buffer.byteLength(cur + ch) > 45) {
      words.push(cur);
      cur = "";
    }
    cur += ch;
  }
  if (cur) words.push(cur);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString("base64")}?=`).join("\r\n ");
}

/** Unstructured header text (Subject). */
export function headerText(s: string): string {
  const clean = s.replace(/[\r\n]+/g, " ");
  return ascii.test(clean) && clean.length < 900 && !/=\?/.test(clean) ? clean : encodedWords(clean);
}

/** A display name as a phrase: quoted string when ASCII, encoded words otherwise. */
export function phrase(s: string): string {
  const clean = s.replace(/[\r\n]+/g, " ").trim();
  if (ascii.test(clean) && !/=\?/.test(clean)) return `"${clean.replace(/[\\"]/g, "\\$&")}"`;
  return encodedWords(clean);
}

const mailbox = (email: string, name: string | null | undefined) => (name ? `${phrase(name)} <${email}>` : `<${email}>`);

function base64Lines(s: string): string {
  const b = Buffer.from(s, "utf8").toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 76) lines.push(b.slice(i, i + 76));
  return lines.join("\r\n");
}

const topicHeaders = new Map<string, string>();

function staticHeaders(topic: ComposeInput["topic"]): string {
  const cacheKey = `${topic.id}|${topic.name}`;
  let h = topicHeaders.get(cacheKey);
  if (!h) {
    if (topicHeaders.size > 1000) topicHeaders.clear();
    const lines = [
      `From: ${mailbox(config.SENDER_EMAIL, config.SENDER_NAME)}`,
      ...(config.SENDER_REPLY_TO ? [`Reply-To: <${config.SENDER_REPLY_TO}>`] : []),
      `List-Id: ${phrase(topic.name)} <${topic.key.replace(/[^a-zA-Z0-9-]/g, "-")}.${senderDomain()}>`,
      "MIME-Version: 1.0",
    ];
    h = lines.join("\r\n");
    topicHeaders.set(cacheKey, h);
  }
  return h;
}

export function composeMime(m: ComposeInput): string {
  const boundary = `=_rp_${m.messageId}`;
  const date = (m.date ?? new Date()).toUTCString().replace("GMT", "+0000");
  const head = [
    staticHeaders(m.topic),
    `To: ${mailbox(m.to.email, m.to.name)}`,
    `Subject: ${headerText(m.subject)}`,
    `Date: ${date}`,
    `Message-ID: ${messageIdHeader(m.messageId)}`,
  ];
  if (m.topic.kind === "marketing") {
    head.push(`List-Unsubscribe: <${m.unsubscribeUrl}>`, "List-Unsubscribe-Post: List-Unsubscribe=One-Click");
  }
  const part = (type: string, body: string) =>
    `--${boundary}\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64Lines(body)}\r\n`;
  const parts = (m.text ? part("text/plain", m.text) : "") + part("text/html", m.html);
  head.push(`Content-Type: multipart/alternative; boundary="${boundary}"`);
  return `${head.join("\r\n")}\r\n\r\n${parts}--${boundary}--\r\n`;
}
