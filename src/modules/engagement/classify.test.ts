import { describe, expect, it } from "vitest";
import { burstClicks, classify, type RawHit } from "./classify.ts";

const chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const sent = new Date("2026-11-29T10:00:00Z");
const hit = (h: Partial<RawHit>): RawHit => ({ type: "open", method: "GET", ip: "203.0.113.9", ua: chrome, at: new Date(sent.getTime() + 60_000), linkIndex: null, ...h });

describe("classify", () => {
  it.each([
    ["an open from Apple's 17.x with its proxy agent", hit({ ip: "17.58.1.2", ua: "Mozilla/5.0" }), true, "apple_mpp"],
    ["an open from 17.x with any agent", hit({ ip: "::ffff:17.1.2.3" }), true, "apple_mpp"],
    ["an open through Gmail's image proxy", hit({ ip: "66.249.1.1", ua: "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)" }), false, "gmail_proxy"],
    ["an open through Yahoo's prefetching proxy", hit({ ua: "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html" }), true, "image_proxy"],
    ["a HEAD request", hit({ method: "HEAD" }), true, "head"],
    ["an open by curl", hit({ ua: "curl/8.0" }), true, "bot_ua"],
    ["an open without an agent", hit({ ua: null }), true, "bot_ua"],
    ["an open by a browser", hit({}), false, "human"],
    ["a click on the honeypot", hit({ type: "click", linkIndex: -1 }), true, "honeypot"],
    ["a click by a security gateway", hit({ type: "click", linkIndex: 0, ua: "Mozilla/5.0 (compatible; Barracuda Sentinel)" }), true, "link_scanner"],
    ["a click 1 s after sending", hit({ type: "click", linkIndex: 0, at: new Date(sent.getTime() + 1000) }), true, "too_fast"],
    ["a click a minute after sending", hit({ type: "click", linkIndex: 0 }), false, "human"],
  ])("when %s, then machine is %s (%s)", (_w, h, machine, rule) => {
    expect(classify(h, sent)).toEqual({ machine, rule });
  });

  it("when two different links of a message are clicked within a second, then both are marked; the same link twice or 2 s apart is not", () => {
    const m = "m1";
    const clicks = [{ messageId: m, linkIndex: 0, at: 1000 }, { messageId: m, linkIndex: 1, at: 1400 }, { messageId: "m2", linkIndex: 0, at: 1000 }, { messageId: "m2", linkIndex: 0, at: 1100 }, { messageId: "m3", linkIndex: 0, at: 0 }, { messageId: "m3", linkIndex: 1, at: 2000 }];
    expect([...burstClicks(clicks, clicks)].sort()).toEqual([0, 1]);
  });
});
