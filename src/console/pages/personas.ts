// Personas: cards with live member counts, create/edit with the rule editor, priority order.
import type { Request, Response } from "express";
import { conditionSchema } from "../../modules/personas/condition.ts";
import { createPersonaSchema, personaKey, updatePersonaSchema } from "../../modules/personas/personas.schema.ts";
import * as personas from "../../modules/personas/personas.service.ts";
import { AppError } from "../../platform/errors.ts";
import { lines, optional, parseWith, ruleFormFrom, ruleFormOf, ruleFromForm, ruleRowsForView, str, type RuleForm } from "../forms.ts";
import { renderFragment, renderPage } from "../views.ts";

const nav_current = "personas";

export async function list(_req: Request, res: Response) {
  const [all, counts] = await Promise.all([personas.personasByPriority(), personas.memberCounts()]);
  const cards = all.map((p, i) => ({ ...p, members: counts.get(p.key) ?? 0, first: i === 0, last: i === all.length - 1 }));
  renderPage(res, "personas", { title: "Personas", nav_current, cards });
}

interface FormState {
  key?: string;
  values: Record<string, unknown>;
  rule: RuleForm;
  blank?: number;
  error?: string;
  count?: number | null;
  editing: boolean;
}

function showForm(res: Response, s: FormState, status = 200) {
  renderPage(res, "persona-form", {
    title: s.editing ? `Edit persona ${s.key}` : "New persona",
    nav_current,
    action: s.editing ? `/console/personas/${s.key}` : "/console/personas",
    editing: s.editing,
    v: s.values,
    mode: s.rule.mode,
    ruleJson: s.rule.json,
    rows: ruleRowsForView(s.rule, s.blank ?? (s.rule.rows.length ? 1 : 2)),
    error: s.error,
    count: s.count,
  }, status);
}

export function newForm(_req: Request, res: Response) {
  showForm(res, { values: { priority: 0 }, rule: ruleFormOf(null), editing: false });
}

export async function editForm(req: Request, res: Response) {
  const p = await personas.getPersona(parseWith(personaKey, req.params.key));
  // The rule's count scans every customer's attributes: the page asks for it after loading (htmx
  // trigger "load"), or the "Count" button does without scripts; the page itself stays fast.
  showForm(res, { key: p.key, values: { ...p, goals: p.goals.join("\n"), concerns: p.concerns.join("\n"), interests: p.interests.join("\n") }, rule: ruleFormOf(p.rule), editing: true });
}

function fields(body: Record<string, unknown>, rule: unknown) {
  return {
    name: str(body.name).trim(),
    description: optional(body.description),
    story: optional(body.story),
    goals: lines(body.goals),
    concerns: lines(body.concerns),
    interests: lines(body.interests),
    priority: Number(str(body.priority) || 0),
    rule,
  };
}

/** The draft rule's count (htmx, as the marketer types): a fragment. */
export async function count(req: Request, res: Response) {
  renderFragment(res, "partials/rule-count", await countState(req.body));
}

async function countState(body: Record<string, unknown>): Promise<{ count?: number; error?: string; none?: boolean }> {
  try {
    const rule = ruleFromForm(ruleFormFrom(body));
    if (rule === null) return { none: true };
    return { count: await personas.countMatching(parseWith(conditionSchema, rule)) };
  } catch (err) {
    if (err instanceof AppError) return { error: err.message };
    throw err;
  }
}

/** Create and update share the form; `intent` buttons (count, add a row) work without scripts. */
export async function save(req: Request, res: Response) {
  const body = req.body as Record<string, unknown>;
  const key = req.params.key ? String(req.params.key) : undefined;
  const ruleForm = ruleFormFrom(body);
  const values = { ...body, key: key ?? str(body.key) };
  const state: FormState = { key, values, rule: ruleForm, editing: Boolean(key), blank: 1 };
  const intent = str(body.intent);
  if (intent === "add_row") return showForm(res, { ...state, blank: 2 });
  if (intent === "count") {
    const c = await countState(body);
    return showForm(res, { ...state, count: c.count ?? null, error: c.error });
  }
  try {
    const rule = ruleFromForm(ruleForm);
    if (key) {
      await personas.updatePersona(parseWith(personaKey, key), parseWith(updatePersonaSchema, { ...fields(body, rule), description: optional(body.description) ?? null, story: optional(body.story) ?? null }));
    } else {
      const f = fields(body, rule ?? undefined);
      await personas.createPersona(parseWith(createPersonaSchema, { ...f, key: str(body.key).trim() }));
    }
  } catch (err) {
    if (err instanceof AppError && err.status < 500 && err.status !== 404) return showForm(res, { ...state, error: err.message }, err.status);
    throw err;
  }
  res.redirect(303, "/console/personas");
}

export async function move(req: Request, res: Response) {
  const dir = str(req.body?.direction) === "up" ? "up" : "down";
  await personas.movePersona(parseWith(personaKey, req.params.key), dir);
  res.redirect(303, "/console/personas");
}
