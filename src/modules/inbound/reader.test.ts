// The DSN/ARF reader against real-shaped reports of the major mailbox providers and MTAs
// (test/fixtures/inbound/*.eml): what each means and which message it names.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readInbound, replyText } from "./reader.ts";

const MID = "01938a6e-7b1c-7c3e-9a4f-2b6d8e0f1a2c";
const VERP = `bounces+${MID}.0123456789abcdef@rapport.example`;
const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/inbound/${name}`, import.meta.url));

const cases: Array<[file: string, kind: string, finding: Record<string, unknown> | null, verp: boolean]> = [
  ["gmail-dsn-hard.eml", "dsn", { type: "hard_bounce", code: "5.1.1", recipient: "ada.lovelace@gmail.com" }, true],
  ["gmail-dsn-soft-policy.eml", "dsn", { type: "soft_bounce", code: "5.7.1" }, true],
  ["outlook-ndr-hard.eml", "dsn", { type: "hard_bounce", code: "5.1.10", recipient: "grace.hopper@contoso.com" }, true],
  ["outlook-ndr-soft-quota.eml", "dsn", { type: "soft_bounce", code: "5.2.2" }, true],
  ["yahoo-failure-notice.eml", "bounce", { type: "hard_bounce" }, true],
  ["postfix-dsn-hard.eml", "dsn", { type: "hard_bounce", code: "5.1.1", recipient: "alan.turing@example.org" }, true],
  ["postfix-dsn-delayed.eml", "dsn", null, true],
  ["exim-dsn-hard.eml", "dsn", { type: "hard_bounce", code: "5.1.1", recipient: "ada@example.net" }, true],
  ["exim-dsn-soft-timeout.eml", "dsn", { type: "soft_bounce", code: "4.3.0" }, true],
  ["icloud-dsn-hard.eml", "dsn", { type: "hard_bounce", code: "5.2.1", recipient: "hedy.lamarr@icloud.com" }, true],
  ["yahoo-arf.eml", "arf", { type: "complaint", code: "abuse", recipient: "katherine.johnson@yahoo.com" }, true],
  ["outlook-jmrp-arf.eml", "arf", { type: "complaint", code: "abuse" }, true],
  ["headers-only-arf.eml", "arf", { type: "complaint", code: "abuse" }, true],
  ["arf-not-spam.eml", "arf", null, false],
  ["outlook-automatic-reply.eml", "auto_reply", { type: "auto_reply", code: "out_of_office" }, false],
  ["gmail-vacation.eml", "auto_reply", { type: "auto_reply", code: "out_of_office" }, false],
  ["postfix-vacation-de.eml", "auto_reply", { type: "auto_reply", code: "out_of_office" }, false],
  // Only Auto-Submitted says it (RFC 3834): the subject is the original's.
  ["icloud-vacation.eml", "auto_reply", { type: "auto_reply", code: "auto_reply" }, false],
  ["helpdesk-autoresponder.eml", "auto_reply", { type: "auto_reply", code: "auto_reply" }, true],
  ["reply-gmail.eml", "reply", { type: "reply" }, false],
  ["reply-outlook.eml", "reply", { type: "reply" }, false],
];

describe("readInbound", () => {
  it.each(cases)("when it reads %s, then it is a %s with the expected finding and names the message", async (file, kind, finding, verp) => {
    const r = await readInbound(fixture(file));
    expect(r.kind).toBe(kind);
    if (finding) {
      expect(r.findings).toHaveLength(1);
      expect(r.findings[0]).toMatchObject(finding);
    } else {
      expect(r.findings).toEqual([]);
      expect(r.ignored).toBeTruthy();
    }
    // The helpdesk answered the return path (RFC 3834), quoting no Message-ID.
    expect(r.messageIds).toEqual(file === "helpdesk-autoresponder.eml" ? [] : [MID]);
    expect(r.returnPaths).toEqual(verp ? [VERP] : []);
  });

  it("when a reply quotes the original, then only the person's own text is kept", async () => {
    const gmail = await readInbound(fixture("reply-gmail.eml"));
    expect(gmail.findings[0].text).toBe("Thanks! Could you send the recipe from last week again? I lost it.\n\nAda");
    expect(gmail.findings[0].subject).toBe("Re: Your weekly news");
    const outlook = await readInbound(fixture("reply-outlook.eml"));
    expect(outlook.findings[0].text).toBe("Please send this to my work address instead.\n\nGrace");
  });

  it("when a person's reply mentions an absence, then it is still a reply (no auto-reply header)", async () => {
    const raw = `From: a@example.net\r\nTo: hello@rapport.example\r\nSubject: Re: your absence policy\r\nIn-Reply-To: <${MID}@rapport.example>\r\n\r\nI have a question.\r\n`;
    const r = await readInbound(raw);
    expect(r.kind).toBe("reply");
    expect(replyText("Yes\n> quoted\n")).toBe("Yes");
  });

  it("when the text has no headers at all, then it reads as a reply naming nothing", async () => {
    const r = await readInbound("just some words");
    expect(r.messageIds).toEqual([]);
    expect(r.returnPaths).toEqual([]);
  });
});
