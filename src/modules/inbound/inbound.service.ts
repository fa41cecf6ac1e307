// Inbound use cases: a bounce or complaint reported as JSON, and a raw message (DSN, ARF report,
// auto-reply, reply) from the API or the inbound SMTP listener. Each report is applied in one
// transaction, idempotently (inbound_events is unique per report and finding), with its touchpoints
// and webhook events. CONTEXT.md has the vocabulary.
import { config } from "../../platform/config.ts";
import { AppError, notFound } from "../../platform/errors.ts";
import { stopHandoffs } from "../../platform/handoff-gate.ts";
import { scrubAddresses } from "../../platform/scrub.ts";
import { addressHash, decrypt, encrypt, sha256 } from "../../platform/secrets.ts";
import { onCommit, withTransaction } from "../../platform/sql.ts";
import { withdrawAllMarketing } from "../consent/consent.service.ts";
import { addressKey } from "../customers/email.ts";
import { markBounced } from "../delivery/delivery.repository.ts";
import { enqueueDeliveries, recordEvents, type DomainEvent } from "../webhooks/emit.ts";
import type { BounceReport } from "./inbound.schema.ts";
import { addMessageEvent, addressTarget, countComplaint, insertInboundEvent, messageTarget, repliesOf, softBounceCount, suppress, type Target } from "./inbound.repository.ts";
import { readInbound, type Finding, type InboundReport } from "./reader.ts";
import { verifyReturnPath } from "./return-path.ts";

export type Channel = "json" | "mime" | "smtp";

export interface ReportResult {
  kind: InboundReport["kind"] | "json";
  /** Every finding of this report was applied before: nothing changed now. */
  duplicate: boolean;
  ignored?: string;
  messageId: string | null;
  customerId: string | null;
  findings: Array<{ type: Finding["type"]; code: string | null; applied: boolean; suppressed?: boolean }>;
}

const typeOf = { hard: "hard_bounce", soft: "soft_bounce", complaint: "complaint" } as const;

export async function receiveBounce(input: BounceReport, actor: string): Promise<ReportResult> {
  let target: Target;
  if (input.messageId) {
    const t = await messageTarget([input.messageId]);
    if (!t) throw notFound("Message", input.messageId);
    target = t;
  } else {
    target = await addressTarget(addressHash(addressKey(input.email!)));
  }
  const { reportId, ...rest } = input;
  // Without the reporter's id, an identical body on the same (UTC) day is taken for the same report
  // (a retried request); the same soft bounce of an address next week is a new one.
  const day = new Date().toISOString().slice(0, 10);
  const key = sha256(reportId ? `json-id|${reportId}` : `json|${day}|${JSON.stringify(rest, Object.keys(rest).sort())}`);
  const finding: Finding = { type: typeOf[input.type], diagnostic: input.diagnostic, code: input.diagnostic ? /\b[245]\.\d{1,3}\.\d{1,3}\b/.exec(input.diagnostic)?.[0] : undefined };
  return { kind: "json", ...(await apply(key, "json", [finding], target, actor)) };
}

/**
 * A raw RFC 5322 message. `envelopeMessageId`: the message named by the signed address it was
 * delivered to (the SMTP listener), which then is the only one it can be about. `signedOnly`: only a
 * signed return path inside it may name the message (mail to INBOUND_REPORT_ADDRESS, unauthenticated).
 */
export async function receiveMime(
  input: Buffer,
  opts: { channel: "mime" | "smtp"; actor: string; envelopeMessageId?: string; signedOnly?: boolean },
): Promise<ReportResult> {
  // A message saved from an mbox starts with its "From sender date" envelope line: not a header.
  const raw = input.subarray(0, 5).toString("latin1") === "From " ? input.subarray(input.indexOf(0x0a) + 1) : input;
  if (raw.length === 0 || !/^[\x21-\x39\x3b-\x7e]+:/.test(raw.subarray(0, 200).toString("latin1"))) {
    throw new AppError("validation", "The body is not an RFC 5322 message (it must start with a header field)", {
      errors: [{ path: "", message: "Expected a raw RFC 5322 message" }],
    });
  }
  const report = await readInbound(raw);
  const base = { kind: report.kind, messageId: null, customerId: null, findings: [] };
  if (report.findings.length === 0) return { ...base, duplicate: false, ignored: report.ignored ?? "nothing to do" };
  const signed = report.returnPaths.map(verifyReturnPath).filter((id): id is string => id !== null);
  const candidates = opts.envelopeMessageId ? [opts.envelopeMessageId] : opts.signedOnly ? signed : [...signed, ...report.messageIds];
  const target = await messageTarget(candidates);
  if (!target) {
    throw new AppError("unprocessable", "The message names none of our messages (no signed return path, no known Message-ID)");
  }
  const key = sha256(report.reportId ? `mime|${report.reportId}` : `raw|${raw.toString("latin1")}`);
  return { kind: report.kind, ...(await apply(key, opts.channel, report.findings, target, opts.actor)) };
}

async function apply(reportKey: string, channel: Channel, findings: Finding[], t: Target, actor: string): Promise<Omit<ReportResult, "kind">> {
  // A complaint withdraws consent and suppresses the address: like any withdrawal, fence the
  // customer's hand-offs first (and wait for those already with SMTP). Redis away: 503, nothing changed.
  if (t.customerId && findings.some((f) => f.type === "complaint")) await stopHandoffs({ customerId: t.customerId });
  return withTransaction(async (client) => {
    const events: DomainEvent[] = [];
    // The ids of the outcome statement's own message.bounced (delivery.repository.ts), plus what is inbound's.
    const ids = { messageId: t.messageId, customerId: t.customerId, campaignId: t.campaignId, topicId: t.topicId };
    const out: ReportResult["findings"] = [];
    for (const [seq, f] of findings.entries()) {
      const code = f.code ?? null;
      const detail = f.diagnostic ? scrubAddresses(f.diagnostic.replace(/\s+/g, " ").trim(), 500) : null;
      const text = f.type === "reply" || f.type === "auto_reply" ? JSON.stringify({ subject: f.subject ?? "", text: f.text ?? "" }) : null;
      const bodyEnc = text && t.dataKey ? encrypt(text, Buffer.from(t.dataKey)) : null;
      const inserted = await insertInboundEvent(client, { reportKey, seq, type: f.type, channel, target: t, code, detail, bodyEnc });
      if (!inserted) {
        out.push({ type: f.type, code, applied: false });
        continue;
      }
      let suppressed: boolean | undefined;
      if (f.type === "hard_bounce") {
        if (t.messageId) await markBounced(client, t.messageId, detail ?? code);
        if (t.addressHash) suppressed = await suppress(client, t.addressHash, "hard_bounce", code ? `${channel} ${code}` : channel);
        events.push({ type: "message.bounced", data: { ...ids, bounceType: "hard", status: code } });
      } else if (f.type === "soft_bounce") {
        if (t.messageId) await addMessageEvent(client, t.messageId, "soft_bounced", detail ?? code);
        const n = t.addressHash ? await softBounceCount(client, t.addressHash, config.SOFT_BOUNCE_WINDOW_DAYS) : 0;
        suppressed = n >= config.SOFT_BOUNCE_LIMIT && t.addressHash ? await suppress(client, t.addressHash, "soft_bounce", `${n} soft bounces`) : false;
        events.push({ type: "message.bounced", data: { ...ids, bounceType: "soft", status: code, softBounces: n, suppressed } });
      } else if (f.type === "complaint") {
        if (t.messageId && (await addMessageEvent(client, t.messageId, "complained", code, true))) await countComplaint(client, t.messageId);
        if (t.addressHash) suppressed = await suppress(client, t.addressHash, "complaint", code);
        const topicIds = t.customerId
          ? await withdrawAllMarketing(client, {
              customerId: t.customerId, source: "complaint", actor,
              proof: `feedback report (${code ?? "abuse"})${t.messageId ? ` on message ${t.messageId}` : ""}`,
            })
          : [];
        events.push({ type: "message.complained", data: { ...ids, feedbackType: code, topicIds } });
      } else {
        if (t.messageId) await addMessageEvent(client, t.messageId, f.type === "reply" ? "reply" : "auto_replied", f.type === "auto_reply" ? code : null);
        events.push({ type: "message.replied", data: { ...ids, autoReply: f.type === "auto_reply", autoReplyKind: f.type === "auto_reply" ? code : null } });
      }
      out.push({ type: f.type, code, applied: true, ...(suppressed === undefined ? {} : { suppressed }) });
    }
    const deliveries = await recordEvents(client, events);
    if (deliveries.length) onCommit(client, () => enqueueDeliveries(deliveries));
    return { duplicate: out.every((f) => !f.applied), messageId: t.messageId, customerId: t.customerId, findings: out };
  });
}

/** GET /v1/messages/{id}/replies: what came back, text decrypted (null once the customer is erased). */
export async function listReplies(messageId: string) {
  const { exists, rows } = await repliesOf(messageId);
  if (!exists) throw notFound("Message", messageId);
  return {
    data: rows.map((r) => {
      const plain = r.body_enc ? decrypt(r.body_enc, r.data_key) : null;
      const body = plain ? (JSON.parse(plain) as { subject: string; text: string }) : null;
      return {
        id: r.id, type: r.type, autoReplyKind: r.type === "auto_reply" ? r.code : null, receivedAt: r.created_at.toISOString(),
        subject: body?.subject ?? null, text: body?.text ?? null,
      };
    }),
  };
}
