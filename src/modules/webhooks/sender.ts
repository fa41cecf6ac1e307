// One HTTP POST of a signed webhook: connects only to addresses the SSRF guard checked, follows no
// redirect, gives up after the timeout, and keeps at most a short, address-scrubbed excerpt of the
// response for the delivery log.
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { scrubAddresses } from "../../platform/scrub.ts";
import { config } from "../../platform/config.ts";
import { guardedLookup, hostOf, isForbiddenAddress, RefusedAddress } from "./ssrf.ts";

export interface SendResult {
  statusCode: number | null;
  /** ok | http_error | redirect | timeout | network | refused_address */
  outcome: string;
  response: string | null;
  durationMs: number;
}

const EXCERPT_BYTES = 1024;
const EXCERPT_CHARS = 300;

export function postWebhook(rawUrl: string, headers: Record<string, string>, body: string, timeoutMs = config.WEBHOOK_TIMEOUT_MS): Promise<SendResult> {
  const started = Date.now();
  const done = (r: Omit<SendResult, "durationMs">): SendResult => ({ ...r, durationMs: Date.now() - started });
  let u: URL;
  try {
    u = new URL(rawUrl);
  } catch {
    return Promise.resolve(done({ statusCode: null, outcome: "network", response: "invalid URL" }));
  }
  // An IP literal is connected to without a lookup: check it here.
  if (isIP(hostOf(u)) && !config.WEBHOOK_ALLOW_PRIVATE && isForbiddenAddress(hostOf(u))) {
    return Promise.resolve(done({ statusCode: null, outcome: "refused_address", response: new RefusedAddress().message }));
  }
  const lib = u.protocol === "https:" ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: Omit<SendResult, "durationMs">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(done(r));
    };
    const req = lib.request(u, {
      method: "POST",
      agent: false, // a fresh connection per attempt: no pooled socket to an address checked earlier
      lookup: guardedLookup as never,
      headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), "user-agent": "Rapport-Webhooks/1", ...headers },
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish({ statusCode: null, outcome: "timeout", response: `no response within ${timeoutMs} ms` });
    }, timeoutMs);
    req.on("error", (err) =>
      finish(err instanceof RefusedAddress
        ? { statusCode: null, outcome: "refused_address", response: err.message }
        : { statusCode: null, outcome: "network", response: scrubAddresses((err as NodeJS.ErrnoException).code ?? err.message, EXCERPT_CHARS) }),
    );
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const settle = () => {
        const code = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString("utf8").replace(/[^\x20-\x7e\u00a0-\uffff]+/g, " ");
        finish({
          statusCode: code,
          outcome: code >= 200 && code < 300 ? "ok" : code >= 300 && code < 400 ? "redirect" : "http_error",
          response: text ? scrubAddresses(text, EXCERPT_CHARS) : null,
        });
        res.destroy();
      };
      res.on("data", (c: Buffer) => {
        if (size < EXCERPT_BYTES) chunks.push(c);
        size += c.length;
        if (size >= EXCERPT_BYTES) settle();
      });
      res.on("end", settle);
      res.on("error", settle);
    });
    req.end(body);
  });
}
