// Preview: render a saved template version for a real customer, a hypothetical one, or a sample,
// exactly as the send pipeline would (same renderMessage), with debugging helpers switched on.
// Links in a preview are inert placeholders: a preview must never unsubscribe anyone.
import { AppError } from "../../platform/errors.ts";
import { config } from "../../platform/config.ts";
import { db } from "../../platform/prisma.ts";
import { personasForCustomers, rulePersonaKeyFor, type PersonaSource } from "../personas/persona-assignment.ts";
import { renderPersona } from "../personas/personas.service.ts";
import { prepareTemplate } from "../../templates/compiled.ts";
import { renderMessage } from "../../templates/render.ts";
import type { RenderCustomer, RenderPersona, Touchpoints } from "../../templates/render.types.ts";
import { findVersion, toRenderTemplate } from "./templates.service.ts";
import type { PreviewInput } from "./templates.schema.ts";
import { touchpointsFor } from "./touchpoints.repository.ts";

const sample: RenderCustomer = {
  id: "00000000-0000-7000-8000-000000000000",
  name: "Alex Example",
  email: "alex@example.com",
  locale: null,
  timezone: null,
  attributes: {},
};

const unknownRef = (path: string, detail: string) => new AppError("unprocessable", detail, { errors: [{ path, message: detail }] });

async function personaByKey(key: string, path: string): Promise<RenderPersona> {
  const p = await db.persona.findUnique({ where: { key } });
  if (!p) throw unknownRef(path, `Persona '${key}' does not exist`);
  return renderPersona(p);
}

interface Subject {
  customer: RenderCustomer;
  persona: RenderPersona | null;
  personaSource: PersonaSource | "preview" | null;
  touchpoints?: Touchpoints;
}

async function subjectFor(input: PreviewInput): Promise<Subject> {
  if (input.customerId) {
    const c = await db.customer.findFirst({ where: { id: input.customerId, erasedAt: null } });
    if (!c) throw unknownRef("customerId", `Customer '${input.customerId}' does not exist`);
    const [resolved, touchpoints] = await Promise.all([personasForCustomers([c.id]), touchpointsFor([c.id])]);
    const r = resolved.get(c.id);
    return {
      customer: { id: c.id, name: c.name, email: c.email ?? "", locale: c.locale, timezone: c.timezone, attributes: (c.attributes ?? {}) as Record<string, unknown> },
      persona: r?.persona ?? null,
      personaSource: r?.source ?? null,
      touchpoints: touchpoints.get(c.id),
    };
  }
  if (input.customer) {
    const h = input.customer;
    const customer = { ...sample, ...h, attributes: h.attributes ?? {} };
    const key = await rulePersonaKeyFor(customer.attributes);
    return { customer, persona: key ? await personaByKey(key, "customer") : null, personaSource: key ? "rule" : null };
  }
  return { customer: sample, persona: null, personaSource: null };
}

export async function previewTemplate(key: string, input: PreviewInput) {
  const version = await findVersion(key, input.version);
  const template = toRenderTemplate(key, version);
  // Off the event loop, in the template pool (a cache hit after the save in this process).
  const { warnings } = await prepareTemplate(template);
  const who = await subjectFor(input);
  if (input.persona) {
    who.persona = await personaByKey(input.persona, "persona");
    who.personaSource = "preview";
  }
  const out = renderMessage({
    template,
    customer: who.customer,
    persona: who.persona,
    data: input.data ?? {},
    unsubscribeUrl: `${config.publicUrl}/u/preview`,
    preferencesUrl: `${config.publicUrl}/preferences/preview`,
    touchpoints: who.touchpoints,
    kind: input.kind ?? "marketing",
    mode: "preview",
  });
  return {
    subject: out.subject,
    html: out.html,
    text: out.text,
    persona: who.persona?.key ?? null,
    personaSource: who.personaSource,
    variant: out.variant,
    version: version.version,
    warnings,
  };
}
