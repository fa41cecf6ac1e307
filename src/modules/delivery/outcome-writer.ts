// Group commit of delivery outcomes. Each send records its outcome as soon as SMTP answers; outcomes
// that arrive within gatherMs of the previous write's start go out in one statement.
// So a `sent` mark follows SMTP acceptance within about gatherMs (plus a write), yet costs a fraction
// of a query: each statement is a transaction with its own commit and WAL flush, and work of its own
// whatever its size (planning, the statement triggers). Measured under bench/campaign.ts
// (pg_stat_statements, 10,000 recipients, 2 workers): 25 ms gathered ~11 outcomes per statement,
// 177 us of execution per message; 100 ms, the first group only, ~16, 123 us; 100 ms for every
// group ~51, 102 us (and PostgreSQL's CPU per message fell by a fifth). Nothing waits on the mark
// but the job's completion: the gate and the SMTP slot are let go when SMTP answers (handoff.ts).
// What a crash loses is what waits here (re-sent after the claim timeout: messages/CONTEXT.md,
// "Exactly one email"), so the gathering also ends once gatherEnough outcomes wait: at any rate
// no more than that, plus one write in flight.
import { config } from "../../platform/config.ts";
import { isConnectionError } from "../../platform/errors.ts";
import { logger } from "../../platform/logger.ts";
import { redis } from "../../platform/redis.ts";
import { enqueueDeliveries } from "../webhooks/emit.ts";
import { writeOutcomesWithEvents, type Outcome } from "./delivery.repository.ts";

interface Pending {
  outcome: Outcome;
  /** Local time after which the sweep may have taken the claim over (while the database answers). */
  takeoverAt: number;
  resolve: (updated: boolean) => void;
  reject: (err: Error) => void;
}

const MAX_PER_WRITE = 2000;
const MAX_BACKOFF_MS = 1000;
let gatherMs = 100;
let gatherEnough = 64;

/** For tests: a longer window makes "ended by the count" tell from "ended by the timer". Returns the settings it replaced. */
export function setGathering(o: { ms: number; enough: number }): { ms: number; enough: number } {
  const before = { ms: gatherMs, enough: gatherEnough };
  gatherMs = o.ms;
  gatherEnough = o.enough;
  return before;
}

let pending: Pending[] = [];
let loop: Promise<void> | null = null;
// From the first failed write until one succeeds: hand-offs stop (what SMTP accepts now could not be
// recorded, and an unrecorded send is re-sent after the claim timeout).
let failing = false;
export const outcomeWritesFailing = () => failing;

/** While set, the sweep takes no claim over: some process still holds outcomes it could not write. */
export const unwrittenKey = () => `${config.QUEUE_PREFIX}:delivery-unwritten-outcomes`;

// Losing a `sent` mark means a duplicate once the sweep takes the claim over. Nothing can take a
// claim over without the database (the sweep needs it, and skips while unwrittenKey is set), so a
// write is retried for as long as the database is unreachable, and, once it answers but the write
// still fails, until the claim's age passes the takeover point; then it is given up and logged.
async function writeWithRetry(batch: Pending[]): Promise<void> {
  for (let i = 0; batch.length > 0; i++) {
    try {
      const { updated, deliveries } = await writeOutcomesWithEvents(batch.map((p) => p.outcome));
      failing = false;
      // Never throws (the sweep enqueues deliveries that missed their job).
      if (deliveries.length > 0) void enqueueDeliveries(deliveries, 0, `o${Date.now().toString(36)}`);
      for (const p of batch) p.resolve(updated.has(p.outcome.id));
      return;
    } catch (err) {
      failing = true;
      logger.warn({ err: (err as Error).message, code: (err as { code?: string }).code }, "outcome write failed");
      const unreachable = isConnectionError(err);
      const now = Date.now();
      const lost = unreachable ? [] : batch.filter((p) => now >= p.takeoverAt);
      if (lost.length > 0) {
        logger.error({ err: (err as Error).message, count: lost.length }, "gave up recording delivery outcomes: their claims may be taken over");
        for (const p of lost) p.reject(err as Error);
        batch = batch.filter((p) => now < p.takeoverAt);
      }
      if (i % 10 === 0) logger.warn({ err: (err as Error).message, count: batch.length, unreachable }, "recording delivery outcomes failed; retrying");
      await redis().set(unwrittenKey(), "1", "PX", 10 * MAX_BACKOFF_MS).catch(() => undefined);
      await new Promise((r) => setTimeout(r, Math.min(MAX_BACKOFF_MS, 50 * 2 ** i)));
    }
  }
}

/** Ends the current gathering early (set while one waits). */
let gathered: (() => void) | null = null;

function gather(ms: number): Promise<void> {
  if (ms <= 0 || pending.length >= gatherEnough) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    gathered = () => {
      clearTimeout(timer);
      resolve();
    };
  }).then(() => {
    gathered = null;
  });
}

// Every write, not only the first, gathers for gatherMs from the start of the write before it (or
// until gatherEnough wait). Writing again as soon as the last write returned made groups as small
// as the outcomes that arrived during one write: ~16 per statement at 1,000 sends a second, where
// each statement costs ~2 ms of PostgreSQL whatever its size (planning, the statement triggers,
// commit). Measured on a private cluster, per outcome: 160 us in groups of 16, 60 in groups of 200.
async function drain(): Promise<void> {
  await gather(gatherMs);
  while (pending.length > 0) {
    const startedAt = Date.now();
    await writeWithRetry(pending.splice(0, MAX_PER_WRITE));
    if (pending.length > 0) await gather(startedAt + gatherMs - Date.now());
  }
  loop = null;
}

/**
 * Records one outcome; resolves once it is committed (false when the row had left `sending`).
 * claimedAtMs: when the claim was taken (local clock), for the takeover point.
 */
export function recordOutcome(outcome: Outcome, claimedAtMs = Date.now()): Promise<boolean> {
  const takeoverAt = claimedAtMs + config.SEND_CLAIM_TIMEOUT_MS;
  const p = new Promise<boolean>((resolve, reject) => pending.push({ outcome, takeoverAt, resolve, reject }));
  loop ??= drain();
  if (pending.length >= gatherEnough) gathered?.();
  return p;
}

export const recordOutcomes = (outcomes: Outcome[], claimedAtMs?: number) => Promise.all(outcomes.map((o) => recordOutcome(o, claimedAtMs)));
