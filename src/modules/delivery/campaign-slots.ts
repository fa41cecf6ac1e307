// Campaign throttling inside the transport's rate. Every campaign message takes a slot in the
// campaign lane's bucket (all campaigns together get at most 1 - SMTP_TRANSACTIONAL_RESERVE of the
// transport's rate), and first one in its campaign's own bucket if it has a rateLimitPerMinute;
// then (deliver.service.ts) one in the transport's bucket. A message goes at the latest of its
// slots. Buckets are Redis GCRAs shared by every worker process. Campaign slots are booked at most
// CAMPAIGN_AHEAD_MS ahead; messages without a slot that soon go back to `queued` until there is
// room. (A slot whose message then gets no slot further down is lost: campaigns run a little under
// their limits while the transport is saturated, never over.)
import { campaignBucket, campaignLaneBucket, reserveSends, type Reservation } from "../../platform/smtp-rate-limit.ts";
import type { ClaimedMessage } from "./delivery.repository.ts";

/** How far ahead campaign messages may book slots (the lane's and the transport's). */
export const CAMPAIGN_AHEAD_MS = 500;

export interface CampaignSlots<T> {
  /** In hand-off order (by campaign slot), with the ms from now each may go at the earliest. */
  ready: T[];
  notBefore: number[];
  /** No campaign slot within maxWaitMs: release, retry after `retryIn`. */
  deferred: Array<{ items: T[]; retryIn: number }>;
}

export async function reserveCampaignSlots<T extends { m: ClaimedMessage }>(items: T[], maxWaitMs: number): Promise<CampaignSlots<T>> {
  const groups = new Map<string, T[]>();
  const timed: Array<{ x: T; at: number }> = [];
  const lane: Array<{ x: T; at: number }> = [];
  for (const x of items) {
    const { campaignId, campaignRatePerMinute: rate } = x.m;
    if (!campaignId) timed.push({ x, at: 0 });
    else if (!rate) lane.push({ x, at: 0 });
    else {
      const key = `${campaignId}|${rate}`;
      const g = groups.get(key);
      if (g) g.push(x);
      else groups.set(key, [x]);
    }
  }
  const wait = Math.min(maxWaitMs, CAMPAIGN_AHEAD_MS);
  const deferred: CampaignSlots<T>["deferred"] = [];
  for (const [key, g] of groups) {
    const [id, rate] = key.split("|");
    const r: Reservation = await reserveSends(g.length, wait, campaignBucket(id, Number(rate)));
    for (let i = 0; i < r.granted; i++) lane.push({ x: g[i], at: r.dueIn(i) });
    if (r.granted < g.length) deferred.push({ items: g.slice(r.granted), retryIn: r.retryIn });
  }
  if (lane.length > 0) {
    lane.sort((a, b) => a.at - b.at);
    const r = await reserveSends(lane.length, wait, campaignLaneBucket());
    for (let i = 0; i < r.granted; i++) timed.push({ x: lane[i].x, at: Math.max(lane[i].at, r.dueIn(i)) });
    if (r.granted < lane.length) deferred.push({ items: lane.slice(r.granted).map((t) => t.x), retryIn: r.retryIn });
  }
  timed.sort((a, b) => a.at - b.at);
  return { ready: timed.map((t) => t.x), notBefore: timed.map((t) => t.at), deferred };
}

/** The transport's reservation for `ready`, each message also waiting for its campaign slot. */
export function combine(transport: Reservation, notBefore: number[]): Reservation {
  return { ...transport, dueIn: (i) => Math.max(transport.dueIn(i), notBefore[i] ?? 0) };
}
