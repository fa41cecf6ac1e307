// Dashboard use cases. Sends of past days no longer change (sent_at is the moment of sending), so
// their per-day counts are kept in Redis for 10 minutes and only today's are counted on each view:
// the page stays fast however many messages a month holds.
import { config } from "../../platform/config.ts";
import { logger } from "../../platform/logger.ts";
import { redis } from "../../platform/redis.ts";
import { consentChangesThisWeek, engagementSince, sentPerDay } from "./dashboard.repository.ts";

export { consentChangesThisWeek };

const PAST_TTL_SECONDS = 600;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

async function pastDays(first: string, today: string): Promise<Map<string, number>> {
  const key = `${config.QUEUE_PREFIX}:dashboard:sent:${first}:${today}`;
  try {
    const cached = await redis().get(key);
    if (cached) return new Map(JSON.parse(cached) as Array<[string, number]>);
  } catch (err) {
    logger.warn({ err: (err as Error).message }, "dashboard cache unavailable");
  }
  const counted = await sentPerDay(first, today);
  await redis().set(key, JSON.stringify([...counted]), "EX", PAST_TTL_SECONDS).catch(() => undefined);
  return counted;
}

/** Messages sent per UTC day over the last `days` days (today included), oldest first. */
export async function sentLastDays(days: number, now = Date.now()): Promise<Array<{ day: string; sent: number }>> {
  const DAY = 86_400_000;
  const today = dayOf(now);
  const first = dayOf(now - (days - 1) * DAY);
  const [past, current] = await Promise.all([pastDays(first, today), sentPerDay(today, dayOf(now + DAY))]);
  return Array.from({ length: days }, (_, i) => {
    const day = dayOf(now - (days - 1 - i) * DAY);
    return { day, sent: (day === today ? current : past).get(day) ?? 0 };
  });
}

/** Human engagement over the last `days` days. */
export function engagementLastDays(days: number, now = Date.now()) {
  return engagementSince(new Date(now - days * 86_400_000));
}
