import { simpleParser } from "mailparser";
import { describe, expect, it } from "vitest";
import { composeMime, headerText } from "./compose.ts";
import { scrubAddresses as scrub } from "../../platform/scrub.ts";
import { classify, retryDelayMs } from "./smtp-outcome.ts";

const topic = { id: "t1", key: "news.weekly", name: "Wöchentliche \"News\"", kind: "marketing" as const };

describe("composeMime", () => {
  it("when a message has non-ASCII subject, name and body, then a MIME parser reads them back exactly", async () => {
    const html = `<p>Grüße, ${"long line ".repeat(200)} 🎉</p>`;
    const raw = composeMime({
      messageId: "0190a4b2-0000-7000-8000-000000000001",
      to: { email: "zoe@example.com", name: "Zoë \"Z\" Ä" },
      subject: "Ihre Bestellung – schön, dass Sie da sind! ".repeat(3).trim(),
      html, text: "Grüße 🎉", topic, unsubscribeUrl: "http://x.test/u/tok.en",
    });
    expect(raw).toMatch(/^[\x00-\x7f]*$/); // 7-bit clean
    expect(raw.split("\r\n").every((l) => l.length <= 998)).toBe(true);
    const m = await simpleParser(raw);
    expect(m.subject).toBe("Ihre Bestellung – schön, dass Sie da sind! ".repeat(3).trim());
    expect(m.html).toBe(html);
    expect(m.text).toBe("Grüße 🎉");
    expect((m.to as { value: Array<{ name: string }> }).value[0].name).toBe("Zoë \"Z\" Ä");
    expect(m.messageId).toBe("<0190a4b2-0000-7000-8000-000000000001@rapport.localhost>");
    expect(raw).toMatch(/^List-Id: =\?UTF-8\?B\?[^]*? <news-weekly\.rapport\.localhost>\r$/m);
    expect(raw).toMatch(/^List-Unsubscribe: <http:\/\/x\.test\/u\/tok\.en>\r$/m);
    expect(raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
  });

  it("when the topic is transactional, then no List-Unsubscribe headers are added; CR/LF in a subject cannot inject headers", () => {
    const raw = composeMime({
      messageId: "m", to: { email: "a@b.c", name: null }, subject: "Hi\r\nBcc: evil@x.test", html: "<p>x</p>", text: "",
      topic: { ...topic, kind: "transactional" }, unsubscribeUrl: "http://x.test/u/1",
    });
    expect(raw).not.toMatch(/^List-Unsubscribe/m);
    expect(raw).not.toMatch(/^Bcc:/m);
    expect(headerText("plain")).toBe("plain");
  });
});

describe("SMTP outcomes", () => {
  const err = (responseCode: number | undefined, response: string, code = "EMESSAGE") => ({ responseCode, response, code });
  it("when SMTP answers, then 4xx, X.2.2 and connection errors retry, 5.1.x bounces, other 5xx fail", () => {
    expect(classify(err(421, "421 4.3.2 try later")).kind).toBe("retry");
    expect(classify(err(451, "451 4.7.1 greylisted")).kind).toBe("retry");
    expect(classify(err(552, "552 5.2.2 mailbox full")).kind).toBe("retry");
    expect(classify(err(452, "452 4.2.2 over quota")).kind).toBe("retry");
    expect(classify({ code: "ECONNECTION", message: "connect ECONNREFUSED" }).kind).toBe("retry");
    expect(classify(err(550, "550 5.1.1 <a@b.c>: user unknown")).kind).toBe("bounced");
    expect(classify(err(550, "550 5.1.10 null MX")).kind).toBe("bounced");
    expect(classify(err(550, "550 5.1.8 bad sender domain")).kind).toBe("failed");
    expect(classify(err(554, "554 5.7.1 spam")).kind).toBe("failed");
    expect(classify(err(550, "550 mailbox unavailable")).kind).toBe("failed");
  });

  it("when a diagnostic quotes an address, then it is scrubbed; retry delays grow and stay jittered within bounds", () => {
    expect(scrub("550 5.1.1 <Zoë@example.com>: unknown")).toBe("550 5.1.1 <[address]>: unknown");
    const base = retryDelayMs(1, 1);
    expect(retryDelayMs(2, 1)).toBe(base * 2);
    expect(retryDelayMs(1, 0)).toBe(base / 2);
    expect(retryDelayMs(50, 1)).toBeLessThanOrEqual(3_600_000);
  });
});
