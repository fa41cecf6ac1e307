// Campaign use cases: drafts (create, edit while draft, read, list), the audience preview and stats.
// Lifecycle actions (schedule, pause, resume, cancel) are in lifecycle.service.ts.
import { AppError, conflict, invalid, notFound } from "../../platform/errors.ts";
import { isUuid } from "../../platform/ids.ts";
import { decodeCursor, toPage } from "../../platform/pagination.ts";
import { db, type Prisma } from "../../platform/prisma.ts";
import { findVersion } from "../templates/templates.service.ts";
import { findTopicByKey } from "../topics/topics.service.ts";
import { audiencePreview } from "./audience.ts";
import { combinationErrors, type Audience, type CreateCampaign, type ListCampaigns, type UpdateCampaign } from "./campaigns.schema.ts";
import { campaignCounts, include, timeline, topLinks, type CampaignRow, type Counts } from "./campaigns.repository.ts";

export function campaignView(c: CampaignRow, counts: Counts) {
  return {
    id: c.id,
    name: c.name,
    status: c.status,
    topic: c.topic.key,
    template: c.templateVersion.template.key,
    version: c.templateVersion.version,
    audience: c.audience as Audience,
    scheduledAt: c.scheduledAt?.toISOString() ?? null,
    localTime: c.localTime,
    defaultTimezone: c.defaultTimezone,
    sendWindow: c.sendWindowStart && c.sendWindowEnd ? { start: c.sendWindowStart, end: c.sendWindowEnd } : null,
    rateLimitPerMinute: c.rateLimitPerMinute,
    pausedReason: c.status === "paused" ? c.pausedReason : null,
    counts,
    fanout: { done: c.fanoutDoneAt !== null, finishedAt: c.fanoutDoneAt?.toISOString() ?? null },
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
    startedAt: c.startedAt?.toISOString() ?? null,
    completedAt: c.completedAt?.toISOString() ?? null,
  };
}

export async function findCampaign(id: string): Promise<CampaignRow> {
  const c = isUuid(id) ? await db.campaign.findUnique({ where: { id }, include }) : null;
  if (!c) throw notFound("Campaign", id.slice(0, 100));
  return c as CampaignRow;
}

async function withCounts(c: CampaignRow) {
  return campaignView(c, (await campaignCounts([c.id])).get(c.id)!.total);
}

/** Personas named by the audience must exist (422 naming each missing one, like template variants). */
async function checkPersonas(a: Audience): Promise<void> {
  if (!a.personas) return;
  const found = new Set((await db.persona.findMany({ where: { key: { in: a.personas } }, select: { key: true } })).map((p) => p.key));
  const errors = a.personas.flatMap((k, i) => (found.has(k) ? [] : [{ path: `audience.personas.${i}`, message: `Persona '${k}' does not exist` }]));
  if (errors.length) throw new AppError("unprocessable", errors.map((e) => e.message).join("; "), { errors });
}

async function references(topic: string, template: string, version: number | null | undefined) {
  const t = await findTopicByKey(topic);
  const v = await findVersion(template, version ?? undefined);
  return { topicId: t.id, templateVersionId: v.id };
}

export async function createCampaign(input: CreateCampaign, actor: string) {
  await checkPersonas(input.audience);
  const refs = await references(input.topic, input.template, input.version);
  const c = await db.campaign.create({
    data: {
      name: input.name, ...refs, audience: input.audience as Prisma.InputJsonValue,
      scheduledAt: input.scheduledAt ? new Date(input.scheduledAt) : null, localTime: input.localTime ?? null,
      defaultTimezone: input.defaultTimezone ?? null, sendWindowStart: input.sendWindow?.start ?? null,
      sendWindowEnd: input.sendWindow?.end ?? null, rateLimitPerMinute: input.rateLimitPerMinute ?? null, createdBy: actor,
    },
    include,
  });
  return withCounts(c as CampaignRow);
}

export async function updateCampaign(id: string, patch: UpdateCampaign) {
  const c = await findCampaign(id);
  if (c.status !== "draft") throw conflict(`Campaign is ${c.status}; only a draft can be changed`);
  const sendWindow = patch.sendWindow !== undefined ? patch.sendWindow : c.sendWindowStart ? { start: c.sendWindowStart, end: c.sendWindowEnd! } : null;
  const merged = {
    localTime: patch.localTime !== undefined ? patch.localTime : c.localTime,
    defaultTimezone: patch.defaultTimezone !== undefined ? patch.defaultTimezone : c.defaultTimezone,
    sendWindow,
  };
  const errors = combinationErrors(merged);
  if (errors.length) throw invalid(`The request body is invalid: ${errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`, errors);
  if (patch.audience) await checkPersonas(patch.audience);
  const refs = patch.topic || patch.template || patch.version !== undefined
    ? await references(patch.topic ?? c.topic.key, patch.template ?? c.templateVersion.template.key,
        patch.version !== undefined ? patch.version : patch.template ? null : c.templateVersion.version)
    : {};
  // Conditional on `draft`, so a campaign scheduled meanwhile is not changed under the fan-out.
  const { count } = await db.campaign.updateMany({
    where: { id, status: "draft" },
    data: {
      ...refs,
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.audience ? { audience: patch.audience as Prisma.InputJsonValue } : {}),
      ...(patch.scheduledAt !== undefined ? { scheduledAt: patch.scheduledAt ? new Date(patch.scheduledAt) : null } : {}),
      localTime: merged.localTime, defaultTimezone: merged.defaultTimezone,
      sendWindowStart: sendWindow?.start ?? null, sendWindowEnd: sendWindow?.end ?? null,
      ...(patch.rateLimitPerMinute !== undefined ? { rateLimitPerMinute: patch.rateLimitPerMinute } : {}),
    },
  });
  if (count === 0) throw conflict("Campaign is no longer a draft");
  return withCounts(await findCampaign(id));
}

export async function getCampaign(id: string) {
  return withCounts(await findCampaign(id));
}

export async function listCampaigns(q: ListCampaigns) {
  const before = decodeCursor(q.cursor);
  const rows = (await db.campaign.findMany({
    where: { ...(q.status ? { status: q.status } : {}), ...(before ? { id: { lt: before } } : {}) },
    orderBy: { id: "desc" },
    take: q.limit + 1,
    include,
  })) as CampaignRow[];
  const counts = await campaignCounts(rows.slice(0, q.limit).map((r) => r.id));
  return toPage(rows, q.limit, (r) => campaignView(r, counts.get(r.id)!.total));
}

/** Before sending: audience per persona, how many consent to the topic today, and a sample. */
export async function campaignAudience(id: string) {
  const c = await findCampaign(id);
  return audiencePreview(c.audience as Audience, { id: c.topicId, kind: c.topic.kind }, c.id);
}

/** Counts per persona and the top links (from the counters: a few rows whatever the campaign's size). */
export async function campaignStats(id: string) {
  const c = await findCampaign(id);
  const [counts, links] = await Promise.all([campaignCounts([c.id]), topLinks(c.id)]);
  const e = counts.get(c.id)!;
  return { data: [...e.byPersona].map(([persona, counts]) => ({ persona: persona || null, ...counts })), total: e.total, topLinks: links };
}

/** The campaign over time, per minute (sent, first human opens, first clicks). */
export async function campaignTimeline(id: string) {
  const c = await findCampaign(id);
  return (await timeline(c.id)).map((r) => ({ minute: r.minute.toISOString(), sent: r.sent, opened: r.opened, clicked: r.clicked }));
}
