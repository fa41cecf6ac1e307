import { beforeAll, describe, expect, it } from "vitest";
import { config } from "../../platform/config.ts";
import { initSecrets } from "../../platform/secrets.ts";
import { decodeAttr, instrumentHtml } from "./instrument.ts";
import { clickToken, HONEYPOT, openToken, readTrackingToken } from "./tokens.ts";

const id = "0190f3a2-7c1e-7d4a-9b2c-123456789abc";
beforeAll(() => initSecrets("unit-test-secret-that-is-long-enough-0123"));

describe("tracking tokens", () => {
  it("when a click token is read back, then it names the message and link; any changed character is refused", () => {
    const t = clickToken(id, 3);
    expect(t.length).toBeLessThanOrEqual(42);
    expect(readTrackingToken(t, "click")).toEqual({ kind: "click", messageId: id, index: 3 });
    for (let i = 0; i < t.length; i++) {
      const c = t[i] === "A" ? "B" : "A";
      expect(readTrackingToken(t.slice(0, i) + c + t.slice(i + 1), "click")).toBeNull();
    }
    expect(readTrackingToken(t, "open")).toBeNull();
    expect(readTrackingToken(openToken(id), "open")).toEqual({ kind: "open", messageId: id });
    expect(readTrackingToken(clickToken(id, HONEYPOT), "click")).toMatchObject({ index: -1 });
  });
});

describe("instrumentHtml", () => {
  const html = [
    "<html><body>",
    '<a href="https://shop.example/a?x=1&amp;y=2">A</a>',
    "<a class='b' href='https://shop.example/b'>B</a>",
    '<a href="https://shop.example/a?x=1&amp;y=2">A again</a>',
    '<a href="mailto:help@example.com">mail</a>',
    `<a href="${config.publicUrl}/u/abc">Unsubscribe</a> <a href="${config.publicUrl}/preferences/def">Prefs</a>`,
    "</body></html>",
  ].join("\n");

  it("when clicks and opens are tracked, then web links are rewritten by index, own and mailto links stay, and the pixel and honeypot go before </body>", () => {
    const r = instrumentHtml(html, { messageId: id, opens: true, clicks: true, honeypot: true });
    expect(r.links).toEqual(["https://shop.example/a?x=1&y=2", "https://shop.example/b"]);
    expect(r.html).not.toContain("shop.example");
    expect(r.html).toContain("<a class='b' href='" + config.publicUrl + "/t/c/");
    expect(r.html).toContain('href="mailto:help@example.com"');
    expect(r.html).toContain(`href="${config.publicUrl}/u/abc"`);
    expect(r.html).toContain(`href="${config.publicUrl}/preferences/def"`);
    const tokens = [...r.html.matchAll(/\/t\/c\/([A-Za-z0-9_-]+)/g)].map((m) => readTrackingToken(m[1], "click"));
    expect(tokens.map((t) => (t as { index: number }).index)).toEqual([0, 1, 0, -1]);
    expect(r.html).toMatch(/<img src="[^"]+\/t\/o\/[A-Za-z0-9_-]+"[^>]*><\/body>/);
  });

  it("when tracking is off, then the HTML is unchanged", () => {
    expect(instrumentHtml(html, { messageId: id, opens: false, clicks: false, honeypot: false })).toEqual({ html, links: [] });
  });

  it("decodes numeric and named entities in attribute values", () => {
    expect(decodeAttr("https://x.example/?a=1&amp;b=&#39;2&#x27;&#61;")).toBe("https://x.example/?a=1&b='2'=");
  });
});
