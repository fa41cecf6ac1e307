// Group commit of delivery outcomes. Each send records its outcome as soon as SMTP answers; outcomes
// that arrive within GATHER_MS (or while the previous write is in flight) go out in one statement.
// So a `sent` mark follows SMTP acceptance within a few milliseconds, yet costs a fraction of a
// query: at 1,000 sends per second a write every GATHER_MS covers ~10 outcomes instead of one.
import { config } from "../../platform/config.ts";
import { logger } from "../../platform/logger.ts";
import { writeOutcomes, type Outcome } from "./delivery.repository.ts";

interface Pending {
  outcome: Outcome;
  resolve: (updated: boolean) => void;
  reject: (err: Error) => void;
}

const MAX_PER_WRITE = 2000;
const GATHER_MS = 10;

// Losing a `sent` mark means a duplicate once the sweep takes the claim over, so a failing write is
// retried (backoff up to 5 s) for as long as the claims it carries are ours: until a claim could be
// taken over (SEND_CLAIM_TIMEOUT_MS), less a margin. A database failover of a minute costs nothing.
const retryForMs = () => Math.max(5_000, config.SEND_CLAIM_TIMEOUT_MS * 0.8);

let pending: Pending[] = [];
// From the first failed write until one succeeds: hand-offs stop (what SMTP accepts now could not be
// recorded, and an unrecorded send is re-sent after the claim timeout).
let failing = false;
export const outcomeWritesFailing = () => failing;
let loop: Promise<void> | null = null;

async function writeWithRetry(batch: Outcome[]): Promise<Set<string>> {
  const giveUpAt = Date.now() + retryForMs();
  for (let i = 0; ; i++) {
    try {
      const r = await writeOutcomes(batch);
      failing = false;
      return r;
    } catch (err) {
      failing = true;
      const delay = Math.min(5_000, 100 * 2 ** i);
      if (Date.now() + delay > giveUpAt) throw err;
      logger.warn({ err: (err as Error).message, count: batch.length }, "recording delivery outcomes failed; retrying");
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

async function drain(): Promise<void> {
  await new Promise((r) => setTimeout(r, GATHER_MS));
  while (pending.length > 0) {
    const batch = pending.splice(0, MAX_PER_WRITE);
    try {
      const updated = await writeWithRetry(batch.map((p) => p.outcome));
      for (const p of batch) p.resolve(updated.has(p.outcome.id));
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
    }
  }
  loop = null;
}

/** Records one outcome; resolves once it is committed (false when the row had left `sending`). */
export function recordOutcome(outcome: Outcome): Promise<boolean> {
  const p = new Promise<boolean>((resolve, reject) => pending.push({ outcome, resolve, reject }));
  loop ??= drain();
  return p;
}

export const recordOutcomes = (outcomes: Outcome[]) => Promise.all(outcomes.map(recordOutcome));
