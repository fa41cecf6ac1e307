// What an SMTP answer means for a message: retry later, give up, or give up and suppress the address.
//   4xx and connection errors           -> retry (exponential backoff with jitter)
//   X.2.2 mailbox full (even as 5xx)     -> retry
//   5.1.x bad recipient address          -> bounced, address suppressed (not 5.1.7/5.1.8: the sender's)
//   other 5xx                            -> failed
import { config } from "../../platform/config.ts";
import { scrubAddresses } from "../../platform/scrub.ts";

export type SmtpVerdict = { kind: "retry"; detail: string } | { kind: "failed"; detail: string } | { kind: "bounced"; detail: string };

interface SmtpError {
  responseCode?: number;
  response?: string;
  code?: string;
  message?: string;
}

export function classify(err: unknown): SmtpVerdict {
  const e = (err ?? {}) as SmtpError;
  // SMTP diagnostics often quote the address; keep the rest, never the address.
  const text = scrubAddresses(String(e.response ?? e.message ?? "unknown error"));
  const code = typeof e.responseCode === "number" ? e.responseCode : undefined;
  if (!code) return { kind: "retry", detail: `${e.code ?? "error"}: ${text}` };
  const enhanced = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(text);
  const subject = enhanced ? `${enhanced[2]}.${enhanced[3]}` : null;
  if (code >= 400 && code < 500) return { kind: "retry", detail: text };
  if (subject === "2.2") return { kind: "retry", detail: text };
  if (code >= 500 && enhanced?.[1] === "5" && enhanced[2] === "1" && subject !== "1.7" && subject !== "1.8") {
    return { kind: "bounced", detail: text };
  }
  if (code >= 500) return { kind: "failed", detail: text };
  return { kind: "retry", detail: text };
}

/** Exponential backoff with jitter: base * 2^(attempt-1), capped, then scaled by a random 50-100%. */
export function retryDelayMs(attempt: number, random = Math.random()): number {
  const exp = Math.min(config.SEND_RETRY_MAX_MS, config.SEND_RETRY_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp * (0.5 + random * 0.5));
}
