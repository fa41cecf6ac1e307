// Every message carries its proof (issue 7 item 9): a marketing message handed to SMTP names the
// consent ledger row in force at that hand-off, next to the persona and variant actually rendered.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const { sink, startHarness } = await import("./support/harness.ts");
const f = await import("./support/fixtures.ts");

let h: Awaited<ReturnType<typeof startHarness>>;
beforeAll(async () => {
  h = await startHarness({ workers: false });
});
afterAll(() => h.close());

describe("delivery, consent proof", () => {
  it("when marketing messages are sent, then each names the opt-in ledger row of its customer and topic in force at the hand-off, and the persona and variant rendered", async () => {
    const topic = await f.createTopic(h, "marketing");
    const other = await f.createTopic(h, "marketing");
    const receipts = await f.createTopic(h, "transactional");
    const persona = await f.createPersona(h);
    const { key: template } = await f.createTemplate(h, { variants: [{ persona: persona.key, subject: "For you, {{customer.name}}" }] });
    const plain = await f.createCustomer(h);
    const withPersona = await f.createCustomer(h, { persona: persona.key });
    // The plain customer opted in, out and in again (and into another topic in between): only the
    // latest row of this topic is in force.
    await f.setConsent(h, plain.id, topic.key, "opted_in");
    await f.setConsent(h, plain.id, topic.key, "opted_out");
    await f.setConsent(h, plain.id, other.key, "opted_in");
    await f.setConsent(h, plain.id, topic.key, "opted_in");
    await f.setConsent(h, withPersona.id, topic.key, "opted_in");
    const ledger = async (id: string) => (await h.api("GET", `/v1/customers/${id}/consent-events`)).body.data as Array<{ id: string; topic: string; status: string }>;
    const plainLedger = await ledger(plain.id);
    expect(plainLedger.map((e) => `${e.topic === topic.key ? "t" : "o"}:${e.status}`)).toEqual(["t:opted_in", "t:opted_out", "o:opted_in", "t:opted_in"]);

    const send = async (c: { id: string }, t: string) => {
      const r = await h.api("POST", "/v1/messages", { to: { customerId: c.id }, template, topic: t });
      expect(r.status, r.text).toBe(202);
      return r.body.id as string;
    };
    const ids = { plain: await send(plain, topic.key), persona: await send(withPersona, topic.key), receipt: await send(plain, receipts.key) };
    h.startWorkers();
    const sent = {
      plain: await f.waitForStatus(h, ids.plain, ["sent"]),
      persona: await f.waitForStatus(h, ids.persona, ["sent"]),
      receipt: await f.waitForStatus(h, ids.receipt, ["sent"]),
    };
    expect(sink.to(withPersona.email)[0].parsed.subject).toBe("For you, Ada Lovelace");

    expect(sent.plain).toMatchObject({ consentEventId: plainLedger[3].id, renderedPersona: null, renderedVariant: null });
    const personaLedger = await ledger(withPersona.id);
    expect(personaLedger).toHaveLength(1);
    expect(sent.persona).toMatchObject({ consentEventId: personaLedger[0].id, renderedPersona: persona.key, renderedVariant: persona.key });
    // Each named row is an opt-in of that customer and topic.
    for (const [m, rows] of [[sent.plain, plainLedger], [sent.persona, personaLedger]] as const) {
      expect(rows.find((e) => e.id === m.consentEventId)).toMatchObject({ topic: topic.key, status: "opted_in" });
    }
    // Transactional mail needs no consent: it names none.
    expect(sent.receipt).toMatchObject({ consentEventId: null });
  });
});
