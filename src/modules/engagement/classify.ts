// Is an open or click a person or a machine? Pure rules, first match wins; the rule's name is stored
// with the verdict. Rules that need several events (several links within a second) live in the
// writer (writer.ts). References: Apple Mail Privacy Protection fetches from 17.0.0.0/8 with a bare
// "Mozilla/5.0"; Gmail's image proxy fetches only when a person opens, so it counts as a human open.
import { isbot } from "isbot";
import { BlockList, isIP } from "node:net";
import { HONEYPOT } from "./tokens.ts";

export interface RawHit {
  type: "open" | "click";
  method: string;
  ip: string | null;
  ua: string | null;
  at: Date;
  linkIndex: number | null;
}

export interface Verdict {
  machine: boolean;
  rule: string;
}

/** Clicks sooner than this after the message was sent are scanners: no person reads that fast. */
export const MIN_HUMAN_CLICK_MS = 5000;

const apple = new BlockList();
apple.addSubnet("17.0.0.0", 8, "ipv4");
const isApple = (ip: string | null) => {
  if (!ip) return false;
  const a = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  return isIP(a) === 4 && apple.check(a, "ipv4");
};

const gmailProxy = /GoogleImageProxy/i;
/** Apple's proxy sends exactly this, nothing more. */
const appleProxyUa = /^Mozilla\/5\.0$/;
/** Proxies that fetch images when mail arrives or is scanned, not when a person opens it. */
const prefetchProxies = /YahooMailProxy|ymail|Outlook-iOS-Android|Microsoft Office Protocol Discovery|Mimecast|Barracuda|Proofpoint|Symantec|Forcepoint|FireEye|trendmicro|Superhuman|Front\/|Hey\.com/i;
/** Security gateways that follow every link in arriving mail. */
const linkScanners = /Barracuda|Mimecast|Proofpoint|SafeLinks|Microsoft Office|Symantec|Forcepoint|FireEye|trendmicro|Sophos|Bitdefender|ZScaler|Cisco|IronPort|urldefense|MailScanner|Avanan|CheckPoint|Vade/i;

export function classify(hit: RawHit, sentAt: Date | null): Verdict {
  const ua = hit.ua?.trim() ?? "";
  if (hit.method === "HEAD") return { machine: true, rule: "head" };
  if (hit.type === "open") {
    if (gmailProxy.test(ua)) return { machine: false, rule: "gmail_proxy" };
    if (isApple(hit.ip) || appleProxyUa.test(ua)) return { machine: true, rule: "apple_mpp" };
    if (prefetchProxies.test(ua)) return { machine: true, rule: "image_proxy" };
    if (!ua || isbot(ua)) return { machine: true, rule: "bot_ua" };
    return { machine: false, rule: "human" };
  }
  if (hit.linkIndex === HONEYPOT) return { machine: true, rule: "honeypot" };
  if (linkScanners.test(ua)) return { machine: true, rule: "link_scanner" };
  if (!ua || isbot(ua)) return { machine: true, rule: "bot_ua" };
  if (sentAt && hit.at.getTime() - sentAt.getTime() < MIN_HUMAN_CLICK_MS) return { machine: true, rule: "too_fast" };
  return { machine: false, rule: "human" };
}

/** Clicks on two different links of one message within this window: a scanner following them all. */
export const BURST_MS = 1000;

/**
 * Marks every click that has a click on a different link of the same message within BURST_MS
 * (among `recent`, which holds this batch and the message's clicks already stored). Returns indexes
 * into `clicks` to mark.
 */
export function burstClicks(clicks: Array<{ messageId: string; linkIndex: number; at: number }>, recent: Array<{ messageId: string; linkIndex: number; at: number }>): Set<number> {
  const byMessage = new Map<string, Array<{ linkIndex: number; at: number }>>();
  for (const r of recent) {
    const list = byMessage.get(r.messageId);
    if (list) list.push(r);
    else byMessage.set(r.messageId, [r]);
  }
  const marked = new Set<number>();
  clicks.forEach((c, i) => {
    const others = byMessage.get(c.messageId) ?? [];
    if (others.some((o) => o.linkIndex !== c.linkIndex && Math.abs(o.at - c.at) < BURST_MS)) marked.add(i);
  });
  return marked;
}
