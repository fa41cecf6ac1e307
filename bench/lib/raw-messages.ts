// Pre-built raw messages for the benchmarks that measure the SMTP hand-off alone: the benchmark's
// template rendered and composed as the pipeline does (same layout, headers and encoding), each with
// the Message-ID header a delivery worker passes to sendRaw. Needs initSecrets first (the links).
import { benchTemplate } from "./content.ts";

export interface RawMessage {
  to: string;
  raw: string;
  messageId: string;
}

/** `kind` marketing adds List-Unsubscribe headers and the compliance footer. */
export async function rawMessages(n: number, kind: "marketing" | "transactional"): Promise<RawMessage[]> {
  const { composeMime, messageIdHeader } = await import("../../src/modules/delivery/compose.ts");
  const { newId } = await import("../../src/platform/ids.ts");
  const { renderMessage } = await import("../../src/templates/render.ts");
  const { prepareTemplate } = await import("../../src/templates/compiled.ts");
  const { unsubscribeUrl, preferencesUrl } = await import("../../src/modules/public-links/public-links.service.ts");
  const template = { id: newId(), key: "receipt", version: 1, ...benchTemplate(), variants: [] };
  await prepareTemplate(template);
  const topic = { id: newId(), key: "receipts", name: "Receipts", kind };
  return Array.from({ length: n }, (_, i) => {
    const id = newId();
    const customer = { id: newId(), email: `raw-${i}@bench.example`, name: `Customer raw-${i}@bench.example`, locale: null, timezone: null, attributes: {} };
    const unsub = unsubscribeUrl(customer.id, topic.id, id);
    const r = renderMessage({ template, customer, persona: null, data: { order: `A-${i}` }, unsubscribeUrl: unsub, preferencesUrl: preferencesUrl(customer.id, id.replace(/-/g, "")), kind: topic.kind });
    const raw = composeMime({ messageId: id, to: customer, subject: r.subject, html: r.html, text: r.text, topic, unsubscribeUrl: unsub });
    return { to: customer.email, raw, messageId: messageIdHeader(id) };
  });
}
