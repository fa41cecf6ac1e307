// What delivery calls at composition (src/modules/delivery/prepare.ts): the topics' tracking
// settings for a batch (one query), the instrumentation options per message (instrumentHtml runs
// where the message is built, maybe in a worker thread), and the batch's links saved before any of
// its messages is handed to SMTP (so no click can arrive before its link is known).
import { pool } from "../../platform/prisma.ts";
import type { InstrumentOptions } from "./instrument.ts";
import { saveLinks } from "./links.ts";

export interface Tracking {
  opens: boolean;
  clicks: boolean;
  kind: "marketing" | "transactional";
}

export interface BatchTracking {
  /** How to instrument a message of this topic; null when it tracks nothing (the HTML stays as is). */
  options(messageId: string, topicId: string): InstrumentOptions | null;
  /** The original URLs instrumentHtml found in this message (its click tokens name them by index). */
  record(messageId: string, found: string[]): void;
  /** Saves the links of the messages that will really be sent. */
  save(sentIds: Iterable<string>): Promise<void>;
}

export async function trackingForBatch(topicIds: string[]): Promise<BatchTracking> {
  const { rows } = await pool.query<{ id: string; kind: "marketing" | "transactional"; track_opens: boolean | null; track_clicks: boolean | null }>(
    "SELECT id, kind, track_opens, track_clicks FROM topics WHERE id = ANY($1::uuid[])",
    [[...new Set(topicIds)]],
  );
  const settings = new Map<string, Tracking>(rows.map((t) => [t.id, {
    kind: t.kind, opens: t.track_opens ?? t.kind === "marketing", clicks: t.track_clicks ?? t.kind === "marketing",
  }]));
  const links = new Map<string, string[]>();
  return {
    options(messageId, topicId) {
      const t = settings.get(topicId);
      if (!t || (!t.opens && !t.clicks)) return null;
      return { messageId, opens: t.opens, clicks: t.clicks, honeypot: t.kind === "marketing" };
    },
    record(messageId, found) {
      if (found.length) links.set(messageId, found);
    },
    async save(sentIds) {
      const batch = [];
      for (const id of sentIds) {
        const l = links.get(id);
        if (l) batch.push({ messageId: id, links: l });
      }
      await saveLinks(batch);
    },
  };
}
