// The one rendering function, used by preview, the send API and campaigns. Pure and synchronous:
// callers load the customer, persona, touchpoints and template version (in batches) beforehand,
// and prepare the version (compiled.ts: prepareTemplate / prepareTemplates, off the event loop).
import { config } from "../platform/config.ts";
import { checkOutput, RenderBudgetExceeded, resetRenderBudget } from "./budget.ts";
import { compiledFor } from "./compiled.ts";
import { ComplianceError, TemplateRenderError } from "./errors.ts";
import { hbs, textPartials } from "./handlebars-env.ts";
import { htmlToText, tidyText } from "./text-from-html.ts";
import { findUnsafeUrl } from "./url-safety.ts";
import type { RenderInput, RenderOutput, Touchpoints } from "./render.types.ts";

/** The sender identity every layout can use (configuration, not per template). */
export const sender = Object.freeze({
  name: config.SENDER_NAME,
  email: config.SENDER_EMAIL,
  replyTo: config.SENDER_REPLY_TO ?? null,
  postalAddress: config.SENDER_POSTAL_ADDRESS,
});

const noTouchpoints: Touchpoints = Object.freeze({ lastMessageSentAt: null, lastOpenAt: null, lastClickAt: null, messagesThisMonth: 0 });

/** One part, within its own budget of loop iterations, partial calls and output (budget.ts). */
function run(fn: HandlebarsTemplateDelegate, context: object, mode: string, part: string, text = false): string {
  resetRenderBudget();
  try {
    const out = fn(context, text ? { data: { rapportMode: mode }, partials: textPartials } : { data: { rapportMode: mode } });
    checkOutput(out);
    return out;
  } catch (err) {
    if (err instanceof RenderBudgetExceeded) throw new TemplateRenderError(`The template part '${part}' cannot be rendered: ${err.message}`, part);
    throw new TemplateRenderError(`The template part '${part}' failed to render: ${(err as Error).message.split("\n")[0]}`, part);
  }
}

/**
 * Marketing mail must carry a working unsubscribe link and the postal address (CAN-SPAM, RFC 8058
 * practice). Checked on the final output, so a template that overrides or breaks the footer is
 * refused whatever it did. Content inside HTML comments does not count.
 */
export function assertMarketingCompliance(html: string, text: string, unsubscribeUrl: string): void {
  const visible = html.replace(/<!--[\s\S]*?-->/g, "");
  const forms = (s: string) => [...new Set([s, hbs.escapeExpression(s)])];
  const missing: string[] = [];
  const hasLink = forms(unsubscribeUrl).some((u) => visible.includes(`href="${u}"`) || visible.includes(`href='${u}'`));
  if (!hasLink || !text.includes(unsubscribeUrl)) missing.push("the unsubscribe link");
  const hasAddress = forms(sender.postalAddress).some((a) => visible.includes(a));
  if (!hasAddress || !text.includes(sender.postalAddress)) missing.push("the postal address");
  if (missing.length) throw new ComplianceError(missing);
}

/** A link that runs code (javascript:, data:, ...), from the template or from data, never goes out. */
function assertSafeUrls(html: string, part: string): void {
  const bad = findUnsafeUrl(html);
  if (bad) throw new TemplateRenderError(`The template part '${part}' rendered a ${bad.scheme}: URL in ${bad.attribute}; links that run code or load a document (javascript:, vbscript:, data:) are refused`, part);
}

export function renderMessage(input: RenderInput): RenderOutput {
  const compiled = compiledFor(input.template, input.persona?.key ?? null);
  const c = input.customer;
  const context = {
    customer: { name: c.name, email: c.email, locale: c.locale, timezone: c.timezone, attributes: c.attributes ?? {} },
    persona: input.persona,
    data: input.data ?? {},
    unsubscribeUrl: input.unsubscribeUrl,
    preferencesUrl: input.preferencesUrl,
    touchpoints: input.touchpoints ?? noTouchpoints,
    sender,
  };
  const mode = input.mode ?? "send";
  const { parts } = compiled;
  // A subject is one header line: line breaks from data must not reach the MIME headers.
  const subject = run(compiled.subject, context, mode, parts.subject).replace(/[\r\n\t]+/g, " ").trim();
  const html = run(compiled.html, context, mode, parts.html);
  assertSafeUrls(html, parts.html);
  let text: string;
  if (!compiled.text) text = htmlToText(html);
  else {
    text = run(compiled.text, context, mode, parts.text ?? parts.html, true);
    if (compiled.textDerived) text = tidyText(text);
  }
  if (input.kind === "marketing") assertMarketingCompliance(html, text, input.unsubscribeUrl);
  return { subject, html, text, variant: compiled.variant };
}
