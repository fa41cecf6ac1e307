// Delivery of a batch of queued messages: claim (status lock), prepare (consent re-check, cap,
// render, compose: prepare.ts), wait for the shared rate limit, hand to the pooled SMTP transport and
// record each outcome as soon as SMTP answers (group-committed, outcome-writer.ts).
import { config } from "../../platform/config.ts";
import { logger } from "../../platform/logger.ts";
import { sendRaw } from "../../platform/mailer.ts";
import { messagesOutcome } from "../../platform/metrics.ts";
import { claimMessages, type ClaimedMessage, type Outcome } from "./delivery.repository.ts";
import { enqueueDelivery } from "./dispatch.ts";
import { recordOutcome, recordOutcomes } from "./outcome-writer.ts";
import { gate, prepareBatch } from "./prepare.ts";
import { reserveSends } from "./rate-limit.ts";
import { classify, retryDelayMs } from "./smtp-outcome.ts";

export interface BatchReport {
  claimed: number;
  sent: number;
  suppressed: number;
  failed: number;
  retried: number;
  released: number;
}

export interface BatchHooks {
  /** Everything sendable is with the SMTP transport (or nothing was): the next batch may prepare. */
  prepared?(): void;
  /** These ids need nothing more from this batch (outcome recorded, released, or not claimable). */
  settled?(ids: string[]): void;
}

// Set while workers shut down: claimed messages not yet handed to SMTP go back to `queued`.
let draining = false;
export const setDraining = (v: boolean) => {
  draining = v;
};
export const isDraining = () => draining;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for the rate limit in short steps so that a shutdown does not wait for a long reservation. */
async function waitTurn(ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (draining) return false;
    await sleep(Math.min(100, until - Date.now()));
  }
  return !draining;
}

/** One SMTP attempt and its outcome: sent, retry later (4xx, connection, X.2.2), failed or bounced. */
async function attempt(m: ClaimedMessage, raw: string, report: BatchReport): Promise<Outcome> {
  const n = m.attempts + 1;
  try {
    await sendRaw({ from: config.SENDER_EMAIL, to: m.customer.email!, raw });
    report.sent++;
    messagesOutcome.inc({ outcome: "sent" });
    return { id: m.id, kind: "sent", attempted: true };
  } catch (err) {
    const v = classify(err);
    if (v.kind === "retry" && n < config.SEND_MAX_ATTEMPTS) {
      report.retried++;
      messagesOutcome.inc({ outcome: "retried" });
      return { id: m.id, kind: "retry", detail: v.detail, attempted: true, retryAt: new Date(Date.now() + retryDelayMs(n)) };
    }
    report.failed++;
    messagesOutcome.inc({ outcome: v.kind === "bounced" ? "bounced" : "failed" });
    const detail = v.kind === "retry" ? `gave up after ${n} attempts: ${v.detail}` : v.detail;
    return { id: m.id, kind: v.kind === "bounced" ? "bounced" : "failed", detail, attempted: true, addressHash: m.customer.emailHash };
  }
}

export async function deliverBatch(ids: string[], hooks: BatchHooks = {}): Promise<BatchReport> {
  const report: BatchReport = { claimed: 0, sent: 0, suppressed: 0, failed: 0, retried: 0, released: 0 };
  const claimed = await claimMessages(ids);
  report.claimed = claimed.length;
  const claimedIds = new Set(claimed.map((m) => m.id));
  hooks.settled?.(ids.filter((id) => !claimedIds.has(id)));
  // Claimed ids whose outcome is recorded or whose message is with SMTP; the rest is released.
  const handled = new Set<string>();
  const pending: Promise<unknown>[] = [];
  let deferMs = 0;
  try {
    if (claimed.length === 0) return report;
    const p = await prepareBatch(claimed);
    for (const id of p.capped) handled.add(id);
    hooks.settled?.([...p.capped]);
    for (const o of p.early) handled.add(o.id);
    report.suppressed += p.capped.size + p.early.filter((o) => o.kind === "suppressed").length;
    report.failed += p.early.filter((o) => o.kind === "failed").length;
    for (const o of p.early) messagesOutcome.inc({ outcome: o.kind });
    if (p.capped.size > 0) messagesOutcome.inc({ outcome: "suppressed" }, p.capped.size);
    pending.push(recordOutcomes(p.early).then(() => hooks.settled?.(p.early.map((o) => o.id))));

    const wait = p.ready.length > 0 ? await reserveSends(p.ready.length) : 0;
    // A wait this long would outlive the claim (the sweep would re-queue rows we are about to send):
    // give the rows back, due when the rate limit has room for them.
    if (wait > config.SEND_CLAIM_TIMEOUT_MS / 2) deferMs = wait;
    if (deferMs > 0 || !(await waitTurn(wait))) return report;
    // Consent and suppression once more, right before the hand-off: rendering and the rate-limit wait
    // took time, and a withdrawal in that window must still stop the message (one query per topic).
    const late = await gate(p.ready.map((x) => x.m));
    const lateOutcomes: Outcome[] = [...late].map(([id, reason]) => ({ id, kind: "suppressed", reason }));
    for (const o of lateOutcomes) handled.add(o.id);
    report.suppressed += lateOutcomes.length;
    if (lateOutcomes.length > 0) messagesOutcome.inc({ outcome: "suppressed" }, lateOutcomes.length);
    pending.push(recordOutcomes(lateOutcomes).then(() => hooks.settled?.(lateOutcomes.map((o) => o.id))));
    const sends = p.ready.filter(({ m }) => !late.has(m.id)).map(async ({ m, raw }) => {
      handled.add(m.id);
      const outcome = await attempt(m, raw, report);
      await recordOutcome(outcome);
      // Enqueued once the row is back in `queued` with its send_at, so the job never runs early.
      if (outcome.kind === "retry") {
        await enqueueDelivery([m.id], { tag: `r${m.attempts + 1}`, delayMs: outcome.retryAt!.getTime() - Date.now() });
      }
      hooks.settled?.([m.id]);
    });
    hooks.prepared?.();
    await Promise.all([...sends, ...pending]);
    return report;
  } finally {
    await Promise.allSettled(pending);
    const unsent = claimed.filter((m) => !handled.has(m.id)).map((m) => m.id);
    if (unsent.length > 0) {
      report.released = unsent.length;
      await releaseClaims(unsent, deferMs);
      hooks.settled?.(unsent);
    }
  }
}

/** Back to `queued` (no attempt counted) and into a fresh job, e.g. when shutting down mid-batch. */
async function releaseClaims(ids: string[], delayMs = 0): Promise<void> {
  try {
    const retryAt = delayMs > 0 ? new Date(Date.now() + delayMs) : undefined;
    const released = await recordOutcomes(ids.map((id) => ({ id, kind: "release" as const, retryAt })));
    const back = ids.filter((_, i) => released[i]);
    if (back.length > 0) await enqueueDelivery(back, { tag: `x${Date.now().toString(36)}`, delayMs });
  } catch (err) {
    // The sweep releases rows whose claim timed out.
    logger.error({ err: (err as Error).message, count: ids.length }, "could not release claimed messages");
  }
}
