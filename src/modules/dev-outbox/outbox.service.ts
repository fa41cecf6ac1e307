// Reading the development outbox: what the embedded SMTP server received (dev-smtp.ts), newest
// first, each message parsed from its raw MIME exactly as a mail client would see it.
import { simpleParser, type HeaderValue } from "mailparser";
import { notFound } from "../../platform/errors.ts";
import { decodeCursor } from "../../platform/pagination.ts";
import { db } from "../../platform/prisma.ts";

export interface OutboxSummary {
  id: string;
  receivedAt: string;
  from: string | null;
  to: string[];
  subject: string | null;
}

export interface OutboxMessage extends OutboxSummary {
  headers: Array<{ name: string; value: string }>;
  html: string | null;
  text: string | null;
  /** http(s) links found in the message, in order, without duplicates. */
  links: string[];
  attachments: Array<{ filename: string | null; contentType: string; size: number }>;
}

type Row = { id: string; receivedAt: Date; envelopeFrom: string | null; envelopeTo: string[]; subject: string | null };

const summary = (m: Row): OutboxSummary => ({
  id: m.id,
  receivedAt: m.receivedAt.toISOString(),
  from: m.envelopeFrom,
  to: m.envelopeTo,
  subject: m.subject,
});

/** Newest first; the cursor is the last id of the previous page (ids are time-ordered UUIDv7). */
export async function listOutbox(limit: number, cursor?: string) {
  const before = decodeCursor(cursor);
  const rows = await db.devOutboxMessage.findMany({
    where: before ? { id: { lt: before } } : undefined,
    orderBy: { id: "desc" },
    take: limit + 1,
    omit: { raw: true },
  });
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return { data: page.map(summary), nextCursor: more ? Buffer.from(page[page.length - 1].id).toString("base64url") : null };
}

export async function rawOutboxMessage(id: string): Promise<string> {
  const m = await db.devOutboxMessage.findUnique({ where: { id }, select: { raw: true } });
  if (!m) throw notFound("Outbox message", id);
  return m.raw;
}

function headerText(v: HeaderValue): string {
  if (v == null) return "";
  if (typeof v === "string") return v;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map((x) => headerText(x as HeaderValue)).join(", ");
  if ("text" in v && typeof v.text === "string") return v.text; // addresses
  if ("value" in v && typeof v.value === "string") {
    const params = Object.entries((v as { params?: Record<string, string> }).params ?? {});
    return [v.value, ...params.map(([k, p]) => `${k}=${p}`)].join("; ");
  }
  return JSON.stringify(v);
}

const decodeEntities = (s: string) =>
  s.replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">");

/** Links a developer wants to click (confirm, unsubscribe, tracked links), from the HTML or the text. */
export function extractLinks(html: string | null, text: string | null): string[] {
  const found: string[] = [];
  for (const m of (html ?? "").matchAll(/\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi)) {
    found.push(decodeEntities((m[1] ?? m[2] ?? m[3]).trim()));
  }
  for (const m of (text ?? "").matchAll(/https?:\/\/[^\s<>"')\]]+/g)) found.push(m[0]);
  return [...new Set(found.filter((u) => /^https?:\/\//i.test(u)))];
}

export async function getOutboxMessage(id: string): Promise<OutboxMessage> {
  const m = await db.devOutboxMessage.findUnique({ where: { id } });
  if (!m) throw notFound("Outbox message", id);
  const parsed = await simpleParser(m.raw);
  // Header names as written in the message; values decoded (encoded words, addresses, dates).
  const names = new Map(parsed.headerLines.map((l) => [l.key, l.line.slice(0, l.line.indexOf(":")).trim() || l.key]));
  const headers = [...parsed.headers].map(([key, value]) => ({ name: names.get(key) ?? key, value: headerText(value) }));
  const html = typeof parsed.html === "string" ? parsed.html : null;
  const text = parsed.text ?? null;
  return {
    ...summary(m),
    headers,
    html,
    text,
    links: extractLinks(html, text),
    attachments: parsed.attachments.map((a) => ({ filename: a.filename ?? null, contentType: a.contentType, size: a.size })),
  };
}

export async function clearOutbox(): Promise<number> {
  return (await db.devOutboxMessage.deleteMany({})).count;
}
