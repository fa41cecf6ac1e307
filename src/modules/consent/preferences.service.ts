// The hosted preference center: the customer, identified by a signed link, sees every marketing
// topic with their current state and changes them. Each change goes through setConsent (ledger).
import { db } from "../../platform/prisma.ts";
import { readPreferences } from "../public-links/public-links.service.ts";
import { setConsent, type ConsentView } from "./consent.service.ts";

export interface PreferenceTopic {
  key: string;
  name: string;
  description: string | null;
  doubleOptIn: boolean;
  status: "pending" | "opted_in" | "opted_out" | null;
}

/** Null when the token is invalid or the customer no longer exists. */
export async function loadPreferences(token: string): Promise<{ customerId: string; name: string | null; topics: PreferenceTopic[] } | null> {
  const claims = readPreferences(token);
  if (!claims || typeof claims.a !== "string" || claims.a.length < 16) return null;
  const customer = await db.customer.findFirst({ where: { id: claims.c, erasedAt: null }, select: { id: true, name: true, emailHash: true } });
  if (!customer?.emailHash?.startsWith(claims.a)) return null;
  const [topics, consents] = await Promise.all([
    db.topic.findMany({ where: { kind: "marketing" }, orderBy: { name: "asc" } }),
    db.consent.findMany({ where: { customerId: customer.id, channel: "email" } }),
  ]);
  const byTopic = new Map(consents.map((c) => [c.topicId, c.status]));
  return {
    customerId: customer.id,
    name: customer.name,
    topics: topics.map((t) => ({ key: t.key, name: t.name, description: t.description, doubleOptIn: t.doubleOptIn, status: byTopic.get(t.id) ?? null })),
  };
}

/**
 * Applies the submitted form: `wanted` is the set of topic keys the customer ticked (or none when
 * they pressed "unsubscribe from all"). Only differences are recorded.
 */
export async function savePreferences(
  token: string,
  wanted: Set<string>,
  ctx: { ip?: string; userAgent?: string },
): Promise<ConsentView[] | null> {
  const prefs = await loadPreferences(token);
  if (!prefs) return null;
  const changes: ConsentView[] = [];
  for (const t of prefs.topics) {
    const subscribed = t.status === "opted_in" || t.status === "pending";
    const wants = wanted.has(t.key);
    if (wants === subscribed) continue;
    changes.push(
      await setConsent({
        customerId: prefs.customerId, topicKey: t.key, status: wants ? "opted_in" : "opted_out",
        source: "preference-center", ip: ctx.ip, userAgent: ctx.userAgent, actor: "customer",
      }),
    );
  }
  return changes;
}
