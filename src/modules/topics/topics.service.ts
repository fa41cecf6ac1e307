import type { Topic } from "../../generated/prisma/client.ts";
import { conflict, isUniqueViolation, notFound } from "../../platform/errors.ts";
import { decodeCursor, toPage } from "../../platform/pagination.ts";
import { db } from "../../platform/prisma.ts";
import type { CreateTopic, UpdateTopic } from "./topics.schema.ts";

export const topicView = (t: Topic) => ({
  id: t.id,
  key: t.key,
  name: t.name,
  description: t.description,
  kind: t.kind,
  doubleOptIn: t.doubleOptIn,
  createdAt: t.createdAt.toISOString(),
  updatedAt: t.updatedAt.toISOString(),
});

export async function createTopic(input: CreateTopic) {
  try {
    const t = await db.topic.create({ data: { ...input, doubleOptIn: input.doubleOptIn ?? false } });
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
  return topicView(await db.topic.update({ where: { key }, data: input }));
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
