// The fast path's claims, checked against nodemailer itself: a plain address is one that its envelope
// parsing leaves unchanged, and the message stream (with and without DKIM) is byte for byte the one
// Mail.sendMail would hand the transport (nodemailer's stream transport shows that one).
import { generateKeyPairSync } from "node:crypto";
import { PassThrough, type Readable } from "node:stream";
import fc from "fast-check";
import nodemailer from "nodemailer";
import DKIM from "nodemailer/lib/dkim";
import MimeNode from "nodemailer/lib/mime-node";
import { describe, expect, it } from "vitest";
import { PLAIN_ADDRESS, prebuiltMail, type BufferSource } from "./raw-mail.ts";

const dkimOptions = {
  domainName: "rapport.localhost",
  keySelector: "s1",
  privateKey: generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  headerFieldNames: "From:Subject:Message-ID:List-Unsubscribe:List-Unsubscribe-Post",
};

// As the SMTP connection reads a message: it pipes it into its DataStream.
async function bytes(source: Readable | BufferSource): Promise<Buffer> {
  const stream = source.pipe(new PassThrough());
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

function viaSendMail(raw: string | Buffer, dkim: boolean): Promise<Buffer> {
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true, dkim: dkim ? dkimOptions : undefined });
  return t.sendMail({ envelope: { from: "a@x.example", to: ["b@y.example"] }, raw, messageId: "<m@x.example>" }).then((i) => i.message as Buffer);
}

const mime = (body: string) => `From: a@x.example\r\nSubject: Hi\r\nMessage-ID: <m@x.example>\r\n\r\n${body}`;

describe("raw-mail", () => {
  it("when a message without DKIM is piped, then it says so (the pool re-queues only a message not read at all)", async () => {
    const mail = prebuiltMail("a@x.example", "b@y.example", mime("x"), "<m@x.example>", false)!;
    const source = mail.message.createReadStream();
    expect(source.readableDidRead).toBe(false);
    const out = await bytes(source);
    expect(out.length).toBeGreaterThan(0);
    expect(source.readableDidRead).toBe(true);
    expect(mail.message.createReadStream().readableDidRead).toBe(false);
  });

  it("when an address matches PLAIN_ADDRESS, then nodemailer's envelope parsing gives it back unchanged", () => {
    fc.assert(
      fc.property(fc.stringMatching(PLAIN_ADDRESS), (address) => {
        const envelope = new MimeNode("text/plain").setEnvelope({ from: address, to: [address] }).getEnvelope();
        expect(envelope).toEqual({ from: address, to: [address] });
      }),
      { numRuns: 2000 },
    );
  });

  it("when an address is not plain (display name, CR/LF, upper-case or numeric domain), then there is no fast path", () => {
    for (const address of ["Ann <a@x.example>", "a@x.example\r\nRCPT TO:<b@y.example>", "a@X.example", "a@0x7f.1", "a.@x.example", "a,b@x.example", "a@x.example.", "ä@x.example"]) {
      expect(PLAIN_ADDRESS.test(address), address).toBe(false);
      expect(prebuiltMail(address, "b@y.example", mime("x"), "<m@x.example>", false)).toBeNull();
      expect(prebuiltMail("b@y.example", address, mime("x"), "<m@x.example>", false)).toBeNull();
    }
  });

  it("when the mail object is read, then it carries the envelope and Message-ID, and a fresh envelope per attempt", () => {
    const mail = prebuiltMail("bounces+1@x.example", "b@y.example", mime("x"), "<m@x.example>", false)!;
    expect(mail.message.getEnvelope()).toEqual({ from: "bounces+1@x.example", to: ["b@y.example"] });
    expect(mail.message.getEnvelope()).not.toBe(mail.message.getEnvelope());
    expect(mail.message.messageId()).toBe("<m@x.example>");
    expect(mail.message.getHeader("message-id")).toBe("<m@x.example>");
    expect(mail.data).toEqual({});
  });

  it("when a message is streamed, with or without DKIM, then the bytes are sendMail's, on every read", async () => {
    const signer = new DKIM(dkimOptions);
    const bodies = ["Hello\r\n.dot line\r\n", "no newline at the end", "ends in CR\r", "bare\nLF ünïcödé €\n", ""];
    for (const body of bodies) {
      for (const raw of [mime(body), Buffer.from(mime(body))]) {
        for (const dkim of [false, true]) {
          const mail = prebuiltMail("a@x.example", "b@y.example", raw, "<m@x.example>", dkim ? signer : false)!;
          const expected = await viaSendMail(raw, dkim);
          if (dkim) expect(expected.toString()).toMatch(/^DKIM-Signature: /);
          expect((await bytes(mail.message.createReadStream())).toString("hex"), JSON.stringify({ body, dkim })).toBe(expected.toString("hex"));
          // A re-queued message is streamed again.
          expect((await bytes(mail.message.createReadStream())).equals(expected)).toBe(true);
        }
      }
    }
  });
});
