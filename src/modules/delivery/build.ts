// Building one message of a delivery batch: its public links, the one rendering function, tracking
// and MIME composition. Pure and synchronous once the template version is prepared, so it runs the
// same on the event loop or in a build thread (build-threads.ts).
import { renderMessage } from "../../templates/render.ts";
import type { RenderCustomer, RenderPersona, RenderTemplateVersion, Touchpoints } from "../../templates/render.types.ts";
import { instrumentHtml, type InstrumentOptions } from "../engagement/instrument.ts";
import { preferencesUrl, unsubscribeUrl } from "../public-links/public-links.service.ts";
import { composeMime, type ComposeInput } from "./compose.ts";

/** Everything one message needs, as plain data (it may cross to a thread). */
export interface BuildInput {
  id: string;
  customerId: string;
  templateVersionId: string;
  topic: ComposeInput["topic"];
  customer: RenderCustomer & { emailHash: string | null };
  persona: RenderPersona | null;
  data: Record<string, unknown>;
  touchpoints?: Touchpoints;
  /** null: the topic tracks nothing and the HTML goes as rendered. */
  tracking: InstrumentOptions | null;
}

export type Built =
  | { ok: true; raw: Buffer; variant: string | null; links: string[] }
  /** Not renderable for this customer (and not on a retry either): the attempt's detail. */
  | { ok: false; error: string };

export function buildMessage(b: BuildInput, template: RenderTemplateVersion): Built {
  try {
    const unsub = unsubscribeUrl(b.customerId, b.topic.id, b.id);
    const r = renderMessage({
      template,
      customer: b.customer,
      persona: b.persona,
      data: b.data,
      unsubscribeUrl: unsub,
      preferencesUrl: preferencesUrl(b.customerId, b.customer.emailHash!),
      touchpoints: b.touchpoints,
      kind: b.topic.kind,
    });
    const tracked = b.tracking ? instrumentHtml(r.html, b.tracking) : null;
    const raw = Buffer.from(composeMime({
      messageId: b.id, to: { email: b.customer.email, name: b.customer.name }, subject: r.subject,
      html: tracked ? tracked.html : r.html, text: r.text, topic: b.topic, unsubscribeUrl: unsub,
    }));
    return { ok: true, raw, variant: r.variant, links: tracked?.links ?? [] };
  } catch (err) {
    return { ok: false, error: renderFailure((err as Error).message) };
  }
}

/** Builds `b` with its version from `versions` (the batch's, or those a build thread was sent). */
export function buildFrom(versions: ReadonlyMap<string, RenderTemplateVersion>, b: BuildInput): Built {
  const template = versions.get(b.templateVersionId);
  return template ? buildMessage(b, template) : { ok: false, error: renderFailure("template version not found") };
}

export const renderFailure = (message: string) => `render: ${message}`.slice(0, 500);
