// Templates: list, editor per variant with compile check as you type, previews side by side for
// each persona (the API's preview use case, which renders as sending does), version history with diffs.
import type { Request, Response } from "express";
import { diffLines } from "diff";
import { listCustomers } from "../../modules/customers/customers.service.ts";
import { personasByPriority } from "../../modules/personas/personas.service.ts";
import { previewTemplate } from "../../modules/templates/preview.service.ts";
import { createTemplateSchema, createVersionSchema, templateKey } from "../../modules/templates/templates.schema.ts";
import * as templates from "../../modules/templates/templates.service.ts";
import { AppError } from "../../platform/errors.ts";
import { isUuid } from "../../platform/ids.ts";
import { list as many, optional, parseWith, str } from "../forms.ts";
import { renderFragment, renderPage } from "../views.ts";

const nav_current = "templates";
const PREVIEWED_PERSONAS = 8;

export async function index(_req: Request, res: Response) {
  const page = await templates.listTemplates(200);
  renderPage(res, "templates", { title: "Templates", nav_current, templates: page.data, more: Boolean(page.nextCursor) });
}

/** What an AppError says, with the place for template compile errors ("html, line 3, column 7"). */
export function explain(err: AppError): string {
  const x = err.extra as { part?: string; line?: number; column?: number } | undefined;
  const where = x?.part ? `In ${x.part}${x.line ? `, line ${x.line}` : ""}${x.column ? `, column ${x.column}` : ""}: ` : "";
  return where + err.message;
}
const clientError = (err: unknown): err is AppError => err instanceof AppError && err.status < 500;

type Draft = { name?: string; subject: string; html: string; text?: string; variants: Array<{ persona: string; subject?: string; html?: string; text?: string }> };

function draftFrom(body: Record<string, unknown>): Draft {
  const [subjects, htmls, texts] = [many(body.v_subject), many(body.v_html), many(body.v_text)];
  const variants = many(body.v_persona)
    .map((persona, i) => ({ persona, subject: optional(subjects[i]), html: optional(htmls[i]), text: optional(texts[i]) }))
    .filter((v) => v.persona !== "");
  return { name: optional(body.name), subject: str(body.subject), html: str(body.html), text: optional(body.text), variants };
}

export async function create(req: Request, res: Response) {
  const body = req.body as Record<string, unknown>;
  try {
    const t = await templates.createTemplate(parseWith(createTemplateSchema, { ...draftFrom(body), key: str(body.key).trim(), name: str(body.name).trim() }));
    res.redirect(303, `/console/templates/${t.key}`);
  } catch (err) {
    if (!clientError(err)) throw err;
    const page = await templates.listTemplates(200);
    renderPage(res, "templates", { title: "Templates", nav_current, templates: page.data, error: explain(err), v: body }, err.status);
  }
}

/** The customer previews are rendered for: an id, an email, or none (sample data). */
async function chosenCustomer(q: string): Promise<{ id?: string; error?: string }> {
  if (!q) return {};
  if (isUuid(q)) return { id: q };
  const found = await listCustomers({ email: q.includes("@") ? q : undefined, externalId: q.includes("@") ? undefined : q, limit: 1 });
  return found.data[0] ? { id: found.data[0].id } : { error: `No customer with email or external id '${q}'` };
}

async function previews(key: string, version: number, customer: string, variantPersonas: string[]) {
  const who = await chosenCustomer(customer);
  // The personas this version writes for come first (each has its own variant), then the rest by
  // priority, up to PREVIEWED_PERSONAS.
  const all = await personasByPriority();
  const written = new Set(variantPersonas);
  const personas = [...all.filter((p) => written.has(p.key)), ...all.filter((p) => !written.has(p.key))].slice(0, PREVIEWED_PERSONAS);
  const columns = [{ key: undefined as string | undefined, name: "No persona (base)" }, ...personas.map((p) => ({ key: p.key, name: p.name }))];
  const out = await Promise.all(columns.map(async (c) => {
    try {
      const r = await previewTemplate(key, { version, persona: c.key, customerId: who.id });
      return { ...c, subject: r.subject, html: r.html, text: r.text, variant: r.variant };
    } catch (err) {
      if (!clientError(err)) throw err;
      return { ...c, error: explain(err) };
    }
  }));
  return { columns: out, customerError: who.error };
}

function editorData(key: string, draft: Draft, personas: Array<{ key: string; name: string }>) {
  const options = (selected: string) => personas.map((p) => ({ ...p, selected: p.key === selected }));
  const blocks = [...draft.variants, { persona: "", subject: "", html: "", text: "" }];
  return { key, draft, variants: blocks.map((v, i) => ({ ...v, i: i + 1, options: options(v.persona) })) };
}

export async function editor(req: Request, res: Response, opts: { draft?: Draft; error?: string; status?: number } = {}) {
  const key = parseWith(templateKey, req.params.key);
  const wanted = str(req.query.version);
  const v = await templates.getTemplate(key, wanted ? Number(wanted) || undefined : undefined);
  const customer = str(req.query.customer).trim().slice(0, 254);
  const [pv, personas] = await Promise.all([previews(key, v.version, customer, v.variants.map((x) => x.persona)), personasByPriority()]);
  const draft = opts.draft ?? { name: v.name, subject: v.subject, html: v.html, text: v.text ?? undefined, variants: v.variants };
  renderPage(res, "template-edit", {
    title: `Template ${key}`, nav_current, version: v, customer, ...pv, ...editorData(key, draft, personas), error: opts.error,
  }, opts.status);
}

export async function saveVersion(req: Request, res: Response) {
  const key = parseWith(templateKey, req.params.key);
  const draft = draftFrom(req.body);
  try {
    await templates.createVersion(key, parseWith(createVersionSchema, draft));
  } catch (err) {
    if (!clientError(err) || err.status === 404) throw err;
    return editor(req, res, { draft, error: explain(err), status: err.status });
  }
  res.redirect(303, `/console/templates/${key}`);
}

/** Compile check of the draft as it is typed (htmx fragment). */
export async function check(req: Request, res: Response) {
  try {
    const { warnings } = await templates.checkDraft(parseWith(createVersionSchema, draftFrom(req.body)));
    renderFragment(res, "partials/template-check", { ok: true, warnings: warnings.map((w) => `${w.part}, line ${w.line}, column ${w.column}: ${w.message}`) });
  } catch (err) {
    if (!clientError(err)) throw err;
    renderFragment(res, "partials/template-check", { error: explain(err) });
  }
}

const asText = (v: Awaited<ReturnType<typeof templates.getTemplate>>) =>
  [`name: ${v.name}`, `subject: ${v.subject}`, "--- html ---", v.html, "--- text ---", v.text ?? "(derived from the HTML)",
    ...v.variants.flatMap((x) => [`--- variant ${x.persona} ---`, `subject: ${x.subject ?? "(base)"}`, "html:", x.html ?? "(base)", "text:", x.text ?? "(base)"])].join("\n") + "\n";

export async function history(req: Request, res: Response) {
  const key = parseWith(templateKey, req.params.key);
  const versions = (await templates.listVersions(key, 500)).data;
  const latest = versions[versions.length - 1]?.version ?? 1;
  const b = Number(str(req.query.b)) || latest;
  const a = Number(str(req.query.a)) || Math.max(1, b - 1);
  const [va, vb] = await Promise.all([templates.getTemplate(key, a), templates.getTemplate(key, b)]);
  const parts = diffLines(asText(va), asText(vb)).map((p) => ({ added: p.added, removed: p.removed, value: p.value.replace(/\n$/, "") }));
  const opts = (sel: number) => versions.map((v) => ({ n: v.version, name: v.name, createdAt: v.createdAt, selected: v.version === sel }));
  renderPage(res, "template-history", { title: `History of ${key}`, nav_current, key, a, b, aOptions: opts(a), bOptions: opts(b), versions: [...versions].reverse(), parts, same: parts.every((p) => !p.added && !p.removed) });
}
