// Reads one inbound message (RFC 5322) into a report: a DSN (RFC 3464), an ARF feedback report
// (RFC 5965), a bounce written as prose, an auto-reply (RFC 3834) or a person's reply, with what
// names the original message: signed return-path addresses anywhere in it (unverified here), and
// Message-IDs of the returned message, In-Reply-To and References. Pure: no database, no keys.
import { htmlToText } from "html-to-text";
import { simpleParser, type AddressObject } from "mailparser";
import { autoReplyKind, bounceVerdict, enhancedCode, looksLikeBounce, proseBounceVerdict } from "./classify.ts";
import { contentType, fieldGroups, header, leafParts, parseHeaderBlock, splitHeadBody, type Headers, type Part } from "./mime.ts";

export type FindingType = "hard_bounce" | "soft_bounce" | "complaint" | "auto_reply" | "reply";

export interface Finding {
  type: FindingType;
  /** The recipient the report is about (Final-Recipient, Original-Rcpt-To), when given. */
  recipient?: string;
  /** DSN status (5.1.1), ARF Feedback-Type, or the auto-reply kind. */
  code?: string;
  /** Diagnostic text as the reporter wrote it (may quote addresses: scrub before storing). */
  diagnostic?: string;
  /** Replies and auto-replies: what the person (or their autoresponder) wrote. */
  subject?: string;
  text?: string;
}

export interface InboundReport {
  kind: "dsn" | "arf" | "bounce" | "auto_reply" | "reply";
  /** The report's own Message-ID (its identity when it arrives twice). */
  reportId: string | null;
  findings: Finding[];
  /** Why nothing is to be done (e.g. only "delayed" recipients, a not-spam report). */
  ignored?: string;
  /** Candidate return-path addresses (bounces+<id>.<sig>@...), signature not yet checked. */
  returnPaths: string[];
  /** Message-ID local parts that are UUIDs (ours are <uuid@domain>), most specific first. */
  messageIds: string[];
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const RETURN_PATH = /\bbounces\+[0-9a-f-]{36}\.[0-9a-f]{16}@[a-z0-9.-]+/gi;
const MAX_TEXT = 10_000;

/** `<uuid@host>` ids in a header value (Message-ID, In-Reply-To, References), in order. */
function uuidIds(value: string | undefined): string[] {
  if (!value) return [];
  return [...value.matchAll(/<([^<>@\s]+)@[^<>\s]+>/g)].map((m) => m[1]).filter((id) => UUID.test(id) && id.length === 36).map((id) => id.toLowerCase());
}

const address = (v: string | undefined) => v?.replace(/^\s*(rfc822|utf-8)\s*;\s*/i, "").replace(/[<>]/g, "").trim() || undefined;
const firstAddress = (a: AddressObject | AddressObject[] | undefined) => (Array.isArray(a) ? a[0] : a)?.value[0]?.address;

/** Headers of the returned (or reported) message: a message/rfc822 or text/rfc822-headers part. */
function returnedHeaders(parts: Part[]): Headers {
  const p = parts.find((x) => ["message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers"].includes(x.type));
  return p ? parseHeaderBlock(splitHeadBody(p.body).head) : [];
}

/** Removes the quoted history of a reply: "> " lines and everything from "On ... wrote:" on. */
export function replyText(text: string): string {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  const cut = lines.findIndex((l) =>
    /^\s*(On .+ wrote:|Le .+ a écrit ?:|Am .+ schrieb .+:|El .+ escribió:|-{2,}\s*Original Message\s*-{2,}|_{10,}|From: .+)\s*$/i.test(l));
  const kept = (cut >= 0 ? lines.slice(0, cut) : lines).filter((l) => !/^\s*>/.test(l));
  return kept.join("\n").trim().slice(0, MAX_TEXT);
}

export async function readInbound(raw: Buffer | string): Promise<InboundReport> {
  const bytes = typeof raw === "string" ? Buffer.from(raw, "utf8") : raw;
  const latin = bytes.toString("latin1");
  const top = parseHeaderBlock(splitHeadBody(latin).head);
  const parsed = await simpleParser(bytes, { skipImageLinks: true, skipTextToHtml: true });
  const parts = leafParts(latin);
  const subject = parsed.subject ?? "";
  const returned = returnedHeaders(parts);
  const report: InboundReport = {
    kind: "reply",
    reportId: header(top, "message-id")?.trim() || null,
    findings: [],
    returnPaths: [...new Set([...latin.matchAll(RETURN_PATH), ...parts.flatMap((p) => [...p.body.matchAll(RETURN_PATH)])].map((m) => m[0].toLowerCase()))],
    messageIds: [...new Set([...uuidIds(header(returned, "message-id")), ...uuidIds(header(top, "in-reply-to")), ...uuidIds(header(top, "references")).reverse()])],
  };
  const ct = contentType(header(top, "content-type"));
  const dsn = parts.find((p) => p.type === "message/delivery-status" || p.type === "message/global-delivery-status");
  const arf = parts.find((p) => p.type === "message/feedback-report");

  if (arf || (ct.type === "multipart/report" && ct.params["report-type"]?.toLowerCase() === "feedback-report")) {
    report.kind = "arf";
    const f = arf ? parseHeaderBlock(arf.body) : [];
    const type = (header(f, "feedback-type") ?? "abuse").trim().toLowerCase();
    const named = (header(f, "original-mail-from")?.match(RETURN_PATH) ?? []).map((a) => a.toLowerCase());
    report.returnPaths = [...new Set([...report.returnPaths, ...named])];
    if (type === "not-spam" || type === "auth-failure") report.ignored = `feedback type ${type}`;
    else report.findings.push({ type: "complaint", code: type, recipient: address(header(f, "original-rcpt-to")) });
    // Reports that name the message only in the body (some FBLs redact the attachment).
    if (report.messageIds.length === 0) report.messageIds.push(...uuidIds(parts.map((p) => p.body).join("\n")));
    return report;
  }

  if (dsn) {
    report.kind = "dsn";
    const [, ...recipients] = fieldGroups(dsn.body);
    for (const r of recipients) {
      const diagnostic = header(r, "diagnostic-code")?.replace(/^\s*(smtp|x-[\w-]+)\s*;\s*/i, "");
      const v = bounceVerdict(header(r, "action"), header(r, "status"), diagnostic);
      if (v.verdict === "ignored") continue;
      report.findings.push({ type: v.verdict, code: v.code, diagnostic, recipient: address(header(r, "final-recipient") ?? header(r, "original-recipient")) });
    }
    if (report.findings.length === 0) {
      report.ignored = recipients.length === 0 ? "no recipient in the delivery-status part" : "no failed recipient (delayed or delivered)";
    }
    return report;
  }

  const kind = autoReplyKind(top, subject);
  if (!kind && looksLikeBounce(firstAddress(parsed.from), subject)) {
    report.kind = "bounce";
    const text = parsed.text ?? "";
    const v = proseBounceVerdict(text);
    // The original's headers are usually quoted in the text.
    if (report.messageIds.length === 0) report.messageIds.push(...uuidIds(text.match(/^\s*message-id:.*$/gim)?.join("\n")));
    if (v.verdict === "ignored") report.ignored = "no failure found in the text";
    else report.findings.push({ type: v.verdict, code: v.code ?? enhancedCode(v.diagnostic), diagnostic: v.diagnostic });
    return report;
  }

  const body = parsed.text ?? (typeof parsed.html === "string" ? htmlToText(parsed.html, { wordwrap: false }) : "");
  report.kind = kind ? "auto_reply" : "reply";
  report.findings.push({ type: kind ? "auto_reply" : "reply", code: kind ?? undefined, subject: subject.slice(0, 500), text: replyText(body) });
  return report;
}
