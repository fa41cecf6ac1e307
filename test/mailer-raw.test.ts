// sendRaw's fast path (raw-mail.ts): pre-built raw MIME goes to nodemailer's SMTP pool without
// Mail.sendMail, over real SMTP into the file's sink, and arrives as sendMail would deliver it.
import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";
import { classify } from "../src/modules/delivery/smtp-outcome.ts";
import { closeMailer, mailer, sendRaw } from "../src/platform/mailer.ts";
import { sink } from "./support/env.ts";

afterAll(() => closeMailer());

let n = 0;
function message() {
  const id = `<raw-${++n}-${Date.now()}@rapport.localhost>`;
  const to = `raw-${n}@example.com`;
  // Lines that SMTP must dot-stuff, 8-bit text, and a body past one socket write.
  const raw = [
    "From: Rapport <hello@rapport.localhost>",
    `To: ${to}`,
    "Subject: Raw",
    `Message-ID: ${id}`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    ".a line that starts with a dot",
    "..and two",
    ".",
    "Grüße, €",
    "x".repeat(998),
    ...Array.from({ length: 200 }, (_, i) => `line ${i}`),
    "",
  ].join("\r\n");
  return { id, to, raw, from: `bounces+${n}@rapport.localhost` };
}

const errorFields = (e: unknown) => {
  const { code, responseCode, response, command } = e as Record<string, unknown>;
  return { code, responseCode, response, command };
};

describe("sendRaw fast path", () => {
  const sendMail = vi.spyOn(mailer(), "sendMail");
  beforeEach(() => {
    sendMail.mockClear();
  });

  it("when a plain envelope and a Message-ID are given, then the message arrives byte-identical, without sendMail", async () => {
    const m = message();
    const result = await sendRaw({ from: m.from, to: m.to, raw: m.raw, messageId: m.id });
    expect(sendMail).not.toHaveBeenCalled();
    expect(result.messageId).toBe(m.id);
    expect(result.response).toMatch(/^250 /);
    const [got] = await sink.waitFor(m.to);
    expect(got.raw).toBe(m.raw);
    expect(got.messageId).toBe(m.id);
    expect(got.from).toBe(m.from);
    expect(got.to).toEqual([m.to]);
  });

  it("when the same raw MIME goes through sendMail, then the sink receives the same bytes as from the fast path", async () => {
    const m = message();
    const viaSendMail = await mailer().sendMail({ envelope: { from: m.from, to: [m.to] }, raw: Buffer.from(m.raw), messageId: m.id });
    const viaPool = await sendRaw({ from: m.from, to: m.to, raw: Buffer.from(m.raw), messageId: m.id });
    expect(viaPool.messageId).toBe(viaSendMail.messageId);
    const [a, b] = await sink.waitFor(m.to, 2);
    expect(b.raw).toBe(a.raw);
    expect(b.from).toBe(a.from);
  });

  it("when the server answers 550 5.1.1, then the error carries responseCode, code and response as sendMail's, and bounces", async () => {
    const m = message();
    sink.failNext(550, "5.1.1 <rcpt>: user unknown", 2);
    const fast = await sendRaw({ from: m.from, to: m.to, raw: m.raw, messageId: m.id }).catch((e: unknown) => e);
    const slow = await mailer().sendMail({ envelope: { from: m.from, to: [m.to] }, raw: m.raw, messageId: m.id }).catch((e: unknown) => e);
    expect(sendMail).toHaveBeenCalledTimes(1);
    expect(fast).toBeInstanceOf(Error);
    expect(errorFields(fast)).toMatchObject({ responseCode: 550, code: "EMESSAGE" });
    expect(errorFields(fast)).toEqual(errorFields(slow));
    expect(classify(fast)).toMatchObject({ kind: "bounced" });
    // The connection stays usable for the next message.
    const next = message();
    await sendRaw({ from: next.from, to: next.to, raw: next.raw, messageId: next.id });
    expect((await sink.waitFor(next.to))[0].raw).toBe(next.raw);
  });

  it("when the envelope is not plain or there is no Message-ID, then sendMail still sends it", async () => {
    const m = message();
    await sendRaw({ from: m.from, to: `Raw <${m.to}>`, raw: m.raw, messageId: m.id });
    await sendRaw({ from: m.from, to: m.to, raw: m.raw });
    expect(sendMail).toHaveBeenCalledTimes(2);
    const got = await sink.waitFor(m.to, 2);
    expect(got.map((g) => g.raw)).toEqual([m.raw, m.raw]);
  });
});
