// Delivery of a batch of queued messages: claim (status lock), prepare (consent re-check, render,
// frequency cap, compose: prepare.ts), reserve rate-limit slots, hand each message to the pooled SMTP
// transport at its slot after one more consent check (handoff.ts), and record each outcome as soon as
// SMTP answers (group-committed, outcome-writer.ts). Whatever was claimed and not handed over goes
// back to `queued`.
import { logger } from "../../platform/logger.ts";
import { messagesOutcome } from "../../platform/metrics.ts";
import { claimMessages, type ClaimedMessage, type Outcome } from "./delivery.repository.ts";
import { enqueueDelivery, type Lane } from "./dispatch.ts";
import { handOff, maxClaimAgeMs, settleWithout, track, type BatchReport, type HandoffState } from "./handoff.ts";
import { recordOutcomes } from "./outcome-writer.ts";
import { prepareBatch } from "./prepare.ts";
import { reserveSends } from "../../platform/smtp-rate-limit.ts";
import { CAMPAIGN_AHEAD_MS, combine, reserveCampaignSlots } from "./campaign-slots.ts";

export type { BatchReport } from "./handoff.ts";

export interface BatchHooks {
  /** The batch has its rate-limit slots and is handing messages over: the next batch may prepare. */
  prepared?(): void;
  /** These ids need nothing more from this batch (outcome recorded, released, or not claimable). */
  settled?(ids: string[]): void;
}

export async function deliverBatch(ids: string[], hooks: BatchHooks = {}): Promise<BatchReport> {
  const report: BatchReport = { claimed: 0, sent: 0, suppressed: 0, failed: 0, retried: 0, released: 0 };
  const claimed = await claimMessages(ids);
  report.claimed = claimed.length;
  const claimedIds = new Set(claimed.map((m) => m.id));
  hooks.settled?.(ids.filter((id) => !claimedIds.has(id)));
  const s: HandoffState = { report, handled: new Set(), pending: [], retries: [], proof: new Map(), settled: hooks.settled };
  try {
    if (claimed.length === 0) return report;
    const p = await prepareBatch(claimed, s.proof);
    s.read = p.read;
    for (const id of p.capped) s.handled.add(id);
    hooks.settled?.([...p.capped]);
    report.suppressed += p.capped.size + p.early.filter((o) => o.kind === "suppressed").length;
    report.failed += p.early.filter((o) => o.kind === "failed").length;
    for (const o of p.early) messagesOutcome.inc({ outcome: o.kind });
    if (p.capped.size > 0) messagesOutcome.inc({ outcome: "suppressed" }, p.capped.size);
    settleWithout(s, p.early);

    // Only slots the claim can still use: the hand-off stops using a claim at maxClaimAgeMs (from the
    // claim, not from now), less a margin for timers and the pool.
    const margin = Math.min(1000, maxClaimAgeMs() / 10);
    const maxWait = () => Math.max(0, maxClaimAgeMs() - (Date.now() - claimed[0].claimedAtMs) - margin);
    // Campaigns with their own rate limit take a slot in their bucket first (campaign-slots.ts).
    const c = await reserveCampaignSlots(p.ready, maxWait());
    // Campaign messages book transport slots at most CAMPAIGN_AHEAD_MS ahead too (campaign-slots.ts).
    const campaign = claimed.some((m) => m.campaignId);
    const transport = await reserveSends(c.ready.length, campaign ? Math.min(maxWait(), CAMPAIGN_AHEAD_MS) : maxWait());
    const slots = combine(transport, c.notBefore);
    // The rest goes back to `queued` now, due when the rate limit will have room for it.
    const defer = (ms: ClaimedMessage[], retryIn: number) => {
      if (ms.length === 0) return;
      for (const m of ms) s.handled.add(m.id);
      report.released += ms.length;
      track(s, releaseClaims(ms, retryIn).then(() => hooks.settled?.(ms.map((m) => m.id))));
    };
    for (const d of c.deferred) defer(d.items.map((x) => x.m), d.retryIn);
    defer(c.ready.slice(slots.granted).map((x) => x.m), slots.retryIn);
    hooks.prepared?.();
    await handOff(c.ready, slots, s);
    await Promise.all(s.pending);
    if (s.failure) throw s.failure;
    return report;
  } finally {
    await Promise.allSettled(s.pending);
    // Retries already recorded get their job even when another outcome write failed.
    const campaignIds = new Set(claimed.filter((m) => m.campaignId).map((m) => m.id));
    await enqueueRetries(s.retries, campaignIds).catch((err: Error) => logger.error({ err: err.message, count: s.retries.length }, "could not enqueue retries; the sweep will"));
    hooks.settled?.(s.retries.map((o) => o.id));
    const unsent = claimed.filter((m) => !s.handled.has(m.id));
    if (unsent.length > 0) {
      report.released += unsent.length;
      await releaseClaims(unsent, s.backoffMs ?? 0);
      hooks.settled?.(unsent.map((m) => m.id));
    }
  }
}

/**
 * One job per second of due time rather than one per message: a 4xx storm over a batch of 400
 * must not turn into 400 jobs (each costs about as much as a send). The rows already carry their
 * send_at, so a job never runs a message early.
 */
async function enqueueRetries(retries: Outcome[], campaignIds: Set<string>): Promise<void> {
  const buckets = new Map<string, string[]>();
  for (const o of retries) {
    const second = `${Math.ceil(o.retryAt!.getTime() / 1000)}|${campaignIds.has(o.id) ? "campaign" : "api"}`;
    const ids = buckets.get(second);
    if (ids) ids.push(o.id);
    else buckets.set(second, [o.id]);
  }
  for (const [key, ids] of buckets) {
    const [second, lane] = [Number(key.split("|")[0]), key.split("|")[1] as Lane];
    await enqueueDelivery(ids, { tag: `r${second.toString(36)}${lane[0]}`, delayMs: second * 1000 - Date.now(), lane });
  }
}

/** Back to `queued` (no attempt counted) and into a fresh job, e.g. when shutting down mid-batch. */
async function releaseClaims(ms: ClaimedMessage[], delayMs: number): Promise<void> {
  if (ms.length === 0) return;
  try {
    const retryAt = delayMs > 0 ? new Date(Date.now() + delayMs) : undefined;
    const released = await recordOutcomes(ms.map((m) => ({ id: m.id, claim: m.claim, kind: "release" as const, retryAt })));
    for (const lane of ["api", "campaign"] as const) {
      const back = ms.filter((m, i) => released[i] && (m.campaignId ? "campaign" : "api") === lane).map((m) => m.id);
      if (back.length > 0) await enqueueDelivery(back, { tag: `x${Date.now().toString(36)}${lane[0]}`, delayMs, lane });
    }
  } catch (err) {
    // The sweep releases rows whose claim timed out.
    logger.error({ err: (err as Error).message, count: ms.length }, "could not release claimed messages");
  }
}
