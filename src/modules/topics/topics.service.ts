import type { Topic } from "../../generated/prisma/client.ts";
import { conflict, isUniqueViolation, notFound } from "../../platform/errors.ts";
import { decodeCursor, toPage } from "../../platform/pagination.ts";
import { db } from "../../platform/prisma.ts";
import type { CreateTopic, UpdateTopic } from "./topics.schema.ts";

/** Effective tracking: the topic's own setting, else on for marketing and off for transactional. */
export const trackingOf = (t: Pick<Topic, "kind" | "trackOpens" | "trackClicks">) => ({
  opens: t.trackOpens ?? t.kind === "marketing",
  clicks: t.trackClicks ?? t.kind === "marketing",
});

/** Only the parts given change; the others keep their stored value (null: the kind's default). */
const trackingColumns = (tracking: CreateTopic["tracking"]) => ({
  ...(tracking?.opens !== undefined ? { trackOpens: tracking.opens } : {}),
  ...(tracking?.clicks !== undefined ? { trackClicks: tracking.clicks } : {}),
});

export const topicView = (t: Topic) => ({
  id: t.id,
  key: t.key,
  name: t.name,
  description: t.description,
  kind: t.kind,
  doubleOptIn: t.doubleOptIn,
  tracking: trackingOf(t),
  createdAt: t.createdAt.toISOString(),
  updatedAt: t.updatedAt.toISOString(),
});

export async function createTopic(input: CreateTopic) {
  try {
    const { tracking, ...rest } = input;
    const t = await db.topic.create({ data: { ...rest, ...trackingColumns(tracking), doubleOptIn: input.doubleOptIn ?? false } });
    return topicView(t);
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`A topic with key '${input.key}' already exists`);
    throw err;
  }
}

export async function findTopicByKey(key: string): Promise<Topic> {
  const t = await db.topic.findUnique({ where: { key } });
  if (!t) throw notFound("Topic", key);
  return t;
}

export async function getTopic(key: string) {
  return topicView(await findTopicByKey(key));
}

export async function updateTopic(key: string, input: UpdateTopic) {
  await findTopicByKey(key);
  const { tracking, ...rest } = input;
  return topicView(await db.topic.update({ where: { key }, data: { ...rest, ...trackingColumns(tracking) } }));
}

export async function listTopics(limit: number, cursor?: string) {
  const after = decodeCursor(cursor);
  const rows = await db.topic.findMany({
    where: after ? { id: { gt: after } } : undefined,
    orderBy: { id: "asc" },
    take: limit + 1,
  });
  return toPage(rows, limit, topicView);
}
