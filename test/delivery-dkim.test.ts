// DKIM: with a key configured, every message is signed by the pooled transport and the signature
// covers List-Unsubscribe and List-Unsubscribe-Post (RFC 8058 requires both to be signed); sendRaw's
// fast path (platform/raw-mail.ts) signs exactly as nodemailer's sendMail does.
import { createHash, generateKeyPairSync, verify } from "node:crypto";
import { describe, expect, it, vi } from "vitest";

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
Object.assign(process.env, {
  DKIM_DOMAIN: "rapport.localhost",
  DKIM_SELECTOR: "s1",
  DKIM_PRIVATE_KEY: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
});
const { sink, useHarness } = await import("./support/harness.ts");
const f = await import("./support/fixtures.ts");
const { mailer, sendRaw } = await import("../src/platform/mailer.ts");

const h = useHarness();

// Just enough of RFC 6376 (relaxed/relaxed, rsa-sha256) to check the signature for real.
function verifyDkim(raw: string): { h: string[]; ok: boolean; bodyOk: boolean } {
  const split = raw.indexOf("\r\n\r\n");
  const headerLines = raw.slice(0, split).split(/\r\n(?![ \t])/);
  const body = raw.slice(split + 4);
  const relaxedHeader = (line: string) => {
    const i = line.indexOf(":");
    return `${line.slice(0, i).trim().toLowerCase()}:${line.slice(i + 1).replace(/\r\n/g, "").replace(/[ \t]+/g, " ").trim()}`;
  };
  const sigLine = headerLines.find((l) => /^dkim-signature:/i.test(l))!;
  const tags = Object.fromEntries(
    sigLine.slice(sigLine.indexOf(":") + 1).replace(/\s+/g, "").split(";").filter(Boolean).map((t) => [t.slice(0, t.indexOf("=")), t.slice(t.indexOf("=") + 1)]),
  );
  const signed = tags.h.split(":");
  const used = new Set<number>();
  const parts = signed.map((name: string) => {
    for (let i = headerLines.length - 1; i >= 0; i--) {
      if (!used.has(i) && headerLines[i].toLowerCase().startsWith(`${name}:`)) {
        used.add(i);
        return `${relaxedHeader(headerLines[i])}\r\n`;
      }
    }
    return "";
  });
  // The signature header itself is signed last, with an empty b= and no trailing CRLF.
  const data = parts.join("") + relaxedHeader(sigLine.replace(/(;\s*b=)[\s\S]*$/, "$1"));
  const relaxedBody = `${body.split("\r\n").map((l) => l.replace(/[ \t]+/g, " ").replace(/ $/, "")).join("\r\n").replace(/(\r\n)*$/, "")}\r\n`;
  const bh = createHash("sha256").update(relaxedBody).digest("base64");
  const ok = verify("sha256", Buffer.from(data), publicKey, Buffer.from(tags.b, "base64"));
  return { h: signed, ok, bodyOk: bh === tags.bh };
}

describe("DKIM", () => {
  it("when a DKIM key is configured, then a marketing message is signed and h= covers List-Unsubscribe and List-Unsubscribe-Post", async () => {
    const topic = await f.createTopic(h, "marketing");
    const tpl = await f.createTemplate(h);
    const c = await f.createCustomer(h);
    await f.setConsent(h, c.id, topic.key, "opted_in");
    await h.api("POST", "/v1/messages", { to: { customerId: c.id }, template: tpl.key, topic: topic.key });
    const [mail] = await sink.waitFor(c.email);
    expect(mail.raw).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=rapport\.localhost;/m);
    const v = verifyDkim(mail.raw);
    expect(v.h).toEqual(expect.arrayContaining(["list-unsubscribe", "list-unsubscribe-post", "from", "subject", "message-id", "list-id"]));
    expect(v.bodyOk).toBe(true);
    expect(v.ok).toBe(true);
  });

  it("when sendRaw takes the fast path, then the message is signed byte for byte as sendMail signs it", async () => {
    const to = `dkim-raw-${Date.now()}@example.com`;
    const id = `<dkim-raw-${Date.now()}@rapport.localhost>`;
    const raw = [
      "From: Rapport <hello@rapport.localhost>", `To: ${to}`, "Subject: Signed  twice", `Message-ID: ${id}`,
      "List-Id: <news.rapport.localhost>", "List-Unsubscribe: <https://rapport.localhost/u/1>", "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
      "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", "Hello  there \t", ".a dot line", "Grüße", "", "",
    ].join("\r\n");
    const from = "bounces+dkim@rapport.localhost";
    await mailer().sendMail({ envelope: { from, to: [to] }, raw, messageId: id });
    const sendMail = vi.spyOn(mailer(), "sendMail");
    await sendRaw({ from, to, raw, messageId: id });
    expect(sendMail).not.toHaveBeenCalled();
    sendMail.mockRestore();
    const [viaSendMail, viaPool] = await sink.waitFor(to, 2);
    expect(viaPool.raw).toBe(viaSendMail.raw);
    expect(verifyDkim(viaPool.raw)).toMatchObject({ ok: true, bodyOk: true });
  });
});
