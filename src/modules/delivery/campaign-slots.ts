// Per-campaign throttling inside the transport's rate: a campaign with rateLimitPerMinute has its own
// Redis bucket (the same GCRA as the transport's, so it holds across every worker process). Its
// messages first take a slot there, then one in the transport's bucket; a message goes at the later
// of the two. Messages without a campaign slot soon enough go back to `queued` until the bucket has
// room. (A campaign slot whose message then gets no transport slot is lost: the campaign runs a
// little under its limit while the transport is saturated, never over it.)
import { campaignBucket, reserveSends, type Reservation } from "../../platform/smtp-rate-limit.ts";
import type { ClaimedMessage } from "./delivery.repository.ts";

export interface CampaignSlots<T> {
  /** In hand-off order (by campaign slot), with the ms from now each may go at the earliest. */
  ready: T[];
  notBefore: number[];
  /** No campaign slot within maxWaitMs: release, retry after `retryIn`. */
  deferred: Array<{ items: T[]; retryIn: number }>;
}

export async function reserveCampaignSlots<T extends { m: ClaimedMessage }>(items: T[], maxWaitMs: number): Promise<CampaignSlots<T>> {
  const groups = new Map<string, T[]>();
  const free: T[] = [];
  for (const x of items) {
    const { campaignId, campaignRatePerMinute: rate } = x.m;
    if (!campaignId || !rate) free.push(x);
    else {
      const key = `${campaignId}|${rate}`;
      const g = groups.get(key);
      if (g) g.push(x);
      else groups.set(key, [x]);
    }
  }
  const timed: Array<{ x: T; at: number }> = free.map((x) => ({ x, at: 0 }));
  const deferred: CampaignSlots<T>["deferred"] = [];
  for (const [key, g] of groups) {
    const [id, rate] = key.split("|");
    const r: Reservation = await reserveSends(g.length, maxWaitMs, campaignBucket(id, Number(rate)));
    for (let i = 0; i < r.granted; i++) timed.push({ x: g[i], at: r.dueIn(i) });
    if (r.granted < g.length) deferred.push({ items: g.slice(r.granted), retryIn: r.retryIn });
  }
  timed.sort((a, b) => a.at - b.at);
  return { ready: timed.map((t) => t.x), notBefore: timed.map((t) => t.at), deferred };
}

/** The transport's reservation for `ready`, each message also waiting for its campaign slot. */
export function combine(transport: Reservation, notBefore: number[]): Reservation {
  return { ...transport, dueIn: (i) => Math.max(transport.dueIn(i), notBefore[i] ?? 0) };
}
