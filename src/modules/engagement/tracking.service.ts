// What delivery calls at composition (src/modules/delivery/prepare.ts): the topics' tracking
// settings for a batch (one query), the instrumented HTML per message, and the batch's links saved
// before any of its messages is handed to SMTP (so no click can arrive before its link is known).
import { pool } from "../../platform/prisma.ts";
import { instrumentHtml } from "./instrument.ts";
import { saveLinks } from "./links.ts";

export interface Tracking {
  opens: boolean;
  clicks: boolean;
  kind: "marketing" | "transactional";
}

export interface BatchTracking {
  /** The HTML to send for this message (unchanged when its topic tracks nothing). */
  html(messageId: string, topicId: string, html: string): string;
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
    html(messageId, topicId, html) {
      const t = settings.get(topicId);
      if (!t || (!t.opens && !t.clicks)) return html;
      const r = instrumentHtml(html, { messageId, opens: t.opens, clicks: t.clicks, honeypot: t.kind === "marketing" });
      if (r.links.length) links.set(messageId, r.links);
      return r.html;
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
