// Campaigns: the list, the wizard (audience, content, schedule, review: one use case per step in
// ../../modules/campaigns/wizard.service.ts), and the campaign page with live progress (an htmx
// partial polled while the campaign can still change), per-persona stats, a chart over time, and
// pause / resume / cancel / schedule forms.
import type { Request, Response } from "express";
import type { Counts } from "../../modules/campaigns/campaigns.repository.ts";
import { createCampaignSchema, type CreateCampaign } from "../../modules/campaigns/campaigns.schema.ts";
import * as campaigns from "../../modules/campaigns/campaigns.service.ts";
import * as lifecycle from "../../modules/campaigns/lifecycle.service.ts";
import { audienceStep, contentStep, createFromWizard, firstInvalidStep, reviewStep, STEPS, type Step } from "../../modules/campaigns/wizard.service.ts";
import { listTemplates } from "../../modules/templates/templates.service.ts";
import { listTopics } from "../../modules/topics/topics.service.ts";
import { AppError, notFound } from "../../platform/errors.ts";
import { isUuid } from "../../platform/ids.ts";
import { list as many, optional, parseWith, str } from "../forms.ts";
import { renderFragment, renderPage } from "../views.ts";

const nav_current = "campaigns";
const clientError = (err: unknown): err is AppError => err instanceof AppError && err.status < 500;
const FINAL = new Set(["completed", "canceled"]);

/** Progress of a campaign: messages settled (sent, failed, bounced, suppressed) of those targeted. */
export function progressOf(c: { status: string; counts: Counts }) {
  const k = c.counts;
  const settled = k.sent + k.failed + k.bounced + k.suppressed;
  const percent = k.targeted > 0 ? Math.min(100, Math.floor((settled * 100) / k.targeted)) : c.status === "completed" ? 100 : 0;
  return { settled, targeted: k.targeted, percent };
}

export async function index(req: Request, res: Response) {
  const page = await campaigns.listCampaigns({ limit: 50, cursor: optional(req.query.cursor) });
  const rows = page.data.map((c) => ({ ...c, progress: progressOf(c) }));
  renderPage(res, "campaigns", { title: "Campaigns", nav_current, campaigns: rows, nextCursor: page.nextCursor });
}

// ---- The wizard: its state travels in the form (GET between steps), created by the final POST ----

const FORM_FIELDS = ["name", "topic", "persona", "template", "version", "when", "scheduledAt", "localTime", "defaultTimezone", "windowStart", "windowEnd", "rate"] as const;
const STEP_FORM: Record<Step, string[]> = {
  audience: ["name", "topic", "persona"],
  content: ["template", "version"],
  schedule: ["when", "scheduledAt", "localTime", "defaultTimezone", "windowStart", "windowEnd", "rate"],
  review: [],
};

/** The API body the form describes (unvalidated: createCampaignSchema judges it). */
export function draftFrom(f: Record<string, unknown>): Record<string, unknown> {
  const when = str(f.when) || "now";
  const at = optional(f.scheduledAt);
  const version = optional(f.version);
  const rate = optional(f.rate);
  const [ws, we] = [optional(f.windowStart), optional(f.windowEnd)];
  return {
    name: str(f.name).trim(), topic: str(f.topic),
    template: str(f.template),
    ...(version ? { version: Number(version) } : {}),
    audience: many(f.persona).length ? { personas: many(f.persona) } : {},
    // A datetime-local field has no zone: the form says UTC.
    ...(when === "at" && at ? { scheduledAt: /Z|[+-]\d\d:\d\d$/.test(at) ? at : `${at.length === 16 ? `${at}:00` : at}Z` } : {}),
    ...(when === "at" && !at ? { scheduledAt: "" } : {}),
    ...(when === "local" ? { localTime: str(f.localTime) } : {}),
    ...(when === "local" && optional(f.defaultTimezone) ? { defaultTimezone: str(f.defaultTimezone) } : {}),
    ...(ws || we ? { sendWindow: { start: ws ?? "", end: we ?? "" } } : {}),
    ...(rate ? { rateLimitPerMinute: Number(rate) } : {}),
  };
}

const formValues = (q: Record<string, unknown>) => Object.fromEntries(FORM_FIELDS.map((k) => [k, k === "persona" ? many(q[k]) : str(q[k])]));
const carryFor = (step: Step, v: Record<string, string | string[]>) =>
  FORM_FIELDS.filter((k) => !STEP_FORM[step].includes(k)).flatMap((k) => (Array.isArray(v[k]) ? v[k] : [v[k]]).filter((x) => x !== "").map((value) => ({ name: k, value })));

export async function wizard(req: Request, res: Response) {
  const q = req.query as Record<string, unknown>;
  const wanted = (STEPS as readonly string[]).includes(str(q.step)) ? (str(q.step) as Step) : "audience";
  const draft = draftFrom(q);
  // Forward only over valid steps: an invalid earlier step is shown again with its errors.
  const invalid = str(q.back) ? null : firstInvalidStep(draft, wanted);
  const step = invalid?.step ?? wanted;
  const errors = str(q.started) ? invalid?.errors ?? [] : [];
  await showStep(res, step, formValues(q), draft, errors.map((e) => `${e.path || "form"}: ${e.message}`), invalid ? 400 : 200);
}

async function showStep(res: Response, step: Step, v: Record<string, string | string[]>, draft: Record<string, unknown>, errors: string[], status = 200) {
  const data: { title: string } & Record<string, unknown> = {
    title: `New campaign: ${step}`, nav_current, step, v, errors, carry: carryFor(step, v),
    steps: STEPS.map((s, i) => ({ s, n: i + 1, current: s === step })),
    prev: STEPS[STEPS.indexOf(step) - 1], next: STEPS[STEPS.indexOf(step) + 1],
  };
  const personas = v.persona as string[];
  if (step === "audience") {
    const [topics, rows] = await Promise.all([listTopics(500), audienceStep(optional(v.topic))]);
    data.topics = topics.data.map((t) => ({ key: t.key, name: t.name, kind: t.kind, selected: t.key === v.topic }));
    data.personas = rows.map((p) => ({ ...p, checked: personas.includes(p.key) }));
    data.counted = rows.some((r) => r.total !== null);
  } else if (step === "content") {
    const tpls = await listTemplates(200);
    data.templates = tpls.data.map((t) => ({ key: t.key, name: t.name, selected: t.key === v.template }));
    if (v.template) {
      try {
        const c = await contentStep(str(v.template), optional(v.version) ? Number(v.version) : undefined, personas);
        data.versions = c.versions.map((n) => ({ n, selected: n === c.version }));
        data.previews = c.previews;
      } catch (err) {
        if (!clientError(err)) throw err;
        errors.push(err.message);
      }
    }
  } else if (step === "schedule") {
    data.whenNow = !v.when || v.when === "now";
  } else {
    const body = parseWith(createCampaignSchema, draft);
    data.review = { ...body, audienceCounts: await reviewStep(body) };
  }
  renderPage(res, "campaign-wizard", data, status);
}

export async function create(req: Request, res: Response) {
  const b = req.body as Record<string, unknown>;
  const draft = draftFrom(b);
  let body: CreateCampaign;
  try {
    body = parseWith(createCampaignSchema, draft);
  } catch (err) {
    if (!clientError(err)) throw err;
    return showStep(res, firstInvalidStep(draft, "review")?.step ?? "audience", formValues(b), draft, [err.message], err.status);
  }
  const schedule = str(b.intent) === "schedule";
  let created;
  try {
    created = await createFromWizard(body, req.principal!.actor, schedule);
  } catch (err) {
    if (!clientError(err)) throw err;
    return showStep(res, "review", formValues(b), draft, [err.message], err.status);
  }
  // Created but not scheduled (e.g. the compliance guard's 422): the campaign page says why.
  if (created.refused) return show(req, res, created.campaign.id, created.refused.message, created.refused.status);
  res.redirect(303, `/console/campaigns/${created.campaign.id}`);
}

// ---- The campaign page ----

async function pageData(id: string) {
  if (!isUuid(id)) throw notFound("Campaign", id.slice(0, 100));
  const [c, stats] = await Promise.all([campaigns.getCampaign(id), campaigns.campaignStats(id)]);
  const k = c.counts;
  return {
    c, progress: progressOf(c), live: !FINAL.has(c.status) && c.status !== "draft",
    rows: stats.data.map((r) => ({ ...r, persona: r.persona ?? "(none)", handed: r.sent + r.bounced })),
    total: { ...stats.total, handed: k.sent + k.bounced }, topLinks: stats.topLinks,
    can: { schedule: c.status === "draft", pause: ["scheduled", "running"].includes(c.status), resume: c.status === "paused", cancel: !FINAL.has(c.status) },
  };
}

export async function show(req: Request, res: Response, id = String(req.params.id), error?: string, status = 200) {
  const d = await pageData(id);
  const series = await campaigns.campaignTimeline(id);
  const chart = {
    kind: "series", label: "per minute",
    xs: series.map((p) => Date.parse(p.minute) / 1000),
    series: [{ label: "Sent", values: series.map((p) => p.sent) }, { label: "Human opens", values: series.map((p) => p.opened) }, { label: "Clicks", values: series.map((p) => p.clicked) }],
  };
  renderPage(res, "campaign", {
    title: `Campaign ${d.c.name}`, nav_current, ...d, error, series: series.slice(-60),
    chartJson: JSON.stringify(chart).replace(/</g, "\\u003c"),
  }, status);
}

/** The live part of the campaign page (htmx polls it while the campaign can still change). */
export async function progress(req: Request, res: Response) {
  renderFragment(res, "partials/campaign-progress", { ...(await pageData(String(req.params.id))), csrf: res.locals.console?.csrf });
}

const ACTIONS = { schedule: lifecycle.scheduleCampaign, pause: (id: string) => lifecycle.pauseCampaign(id), resume: lifecycle.resumeCampaign, cancel: lifecycle.cancelCampaign } as const;

export const action = (name: keyof typeof ACTIONS) => async (req: Request, res: Response) => {
  const id = String(req.params.id);
  if (!isUuid(id)) throw notFound("Campaign", id.slice(0, 100));
  try {
    await ACTIONS[name](id);
  } catch (err) {
    if (!clientError(err) || err.status === 404) throw err;
    return show(req, res, id, err.message, err.status);
  }
  res.redirect(303, `/console/campaigns/${id}`);
};
