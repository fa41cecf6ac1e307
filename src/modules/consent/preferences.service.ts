// The hosted preference center: the customer, identified by a signed link, sees every marketing
// topic with their current state and changes them, chooses how often (cadence) or pauses all
// marketing, and may tell us why. Topic changes go through setConsent, cadence and pause through
// setCadence (both write the ledger); the answer is feedback.
import { db } from "../../platform/prisma.ts";
import { recordFeedback } from "../feedback/feedback.service.ts";
import type { FeedbackFields } from "../feedback/feedback.schema.ts";
import { readPreferences } from "../public-links/public-links.service.ts";
import type { Cadence } from "./cadence.ts";
import { setCadence } from "./cadence.service.ts";
import { setConsent, type ConsentView } from "./consent.service.ts";

export interface PreferenceTopic {
  key: string;
  name: string;
  description: string | null;
  doubleOptIn: boolean;
  status: "pending" | "opted_in" | "opted_out" | null;
}

/** Null when the token is invalid or the customer no longer exists. */
export interface Preferences {
  customerId: string;
  name: string | null;
  topics: PreferenceTopic[];
  cadence: Cadence;
  /** Null when not paused. */
  pausedUntil: Date | null;
}

export async function loadPreferences(token: string): Promise<Preferences | null> {
  const claims = readPreferences(token);
  if (!claims || typeof claims.a !== "string" || claims.a.length < 16) return null;
  const customer = await db.customer.findFirst({ where: { id: claims.c, erasedAt: null }, select: { id: true, name: true, emailHash: true, cadence: true, pausedUntil: true } });
  if (!customer?.emailHash?.startsWith(claims.a)) return null;
  const [topics, consents] = await Promise.all([
    db.topic.findMany({ where: { kind: "marketing" }, orderBy: { name: "asc" } }),
    db.consent.findMany({ where: { customerId: customer.id, channel: "email" } }),
  ]);
  const byTopic = new Map(consents.map((c) => [c.topicId, c.status]));
  return {
    customerId: customer.id,
    name: customer.name,
    cadence: customer.cadence,
    pausedUntil: customer.pausedUntil && customer.pausedUntil.getTime() > Date.now() ? customer.pausedUntil : null,
    topics: topics.map((t) => ({ key: t.key, name: t.name, description: t.description, doubleOptIn: t.doubleOptIn, status: byTopic.get(t.id) ?? null })),
  };
}

export interface PreferenceChoices {
  /** The topic keys ticked (none: "unsubscribe from all"). */
  wanted: Set<string>;
  cadence?: Cadence;
  /** "keep" the current pause, "none" (no pause, or resume), or a pause of that many days from now. */
  pause: "keep" | "none" | number;
  feedback?: FeedbackFields;
}

/** Applies the submitted form. Only differences are recorded. */
export async function savePreferences(
  token: string,
  choices: PreferenceChoices,
  ctx: { ip?: string; userAgent?: string },
): Promise<ConsentView[] | null> {
  const { wanted } = choices;
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
  const pausedUntil = choices.pause === "keep" ? undefined : choices.pause === "none" ? null : new Date(Date.now() + choices.pause * 86_400_000);
  if (choices.cadence !== undefined || pausedUntil !== undefined) {
    await setCadence({
      customerId: prefs.customerId, cadence: choices.cadence, pausedUntil, source: "preference-center",
      ip: ctx.ip, userAgent: ctx.userAgent, actor: "customer",
    });
  }
  if (choices.feedback) await recordFeedback({ customerId: prefs.customerId, source: "preference-center", ...choices.feedback });
  return changes;
}
