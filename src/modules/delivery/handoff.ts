// The last step of a delivery batch: each prepared message goes to SMTP at its rate-limit slot, when
// the pool has room, and only if (1) consent and suppression were read at most RECHECK_MS ago (one
// query per topic for the rest of the batch, not per message), (2) its claim is young enough that
// the sweep cannot have handed the row to another worker, (3) the process is not shutting down,
// (4) no outcome write is failing, and (5) the hand-off gate admitted it (no withdrawal, erasure or
// campaign stop since that read: platform/handoff-gate.ts) once it was next in line for the pool,
// together with the messages due after it, at most USE_WITHIN_MS before nodemailer gets it.
import { config } from "../../platform/config.ts";
import { logger } from "../../platform/logger.ts";
import { admitHandoff, gateEpoch, USE_WITHIN_MS, type Admission } from "../../platform/handoff-gate.ts";
import { MAX_HANDOFF_MS, sendRaw, takeSmtpSlot, waitSmtpSlot } from "../../platform/mailer.ts";
import { messagesOutcome } from "../../platform/metrics.ts";
import { waitUnlessStopping, workersStopping } from "../../platform/worker-state.ts";
import { returnPath } from "../inbound/return-path.ts";
import { messageIdHeader } from "./compose.ts";
import type { ClaimedMessage, Outcome } from "./delivery.repository.ts";
import { outcomeWritesFailing, recordOutcome, recordOutcomes } from "./outcome-writer.ts";
import { confirmationScope } from "../consent/confirmation-message.ts";
import { gate, type ReadyMessage } from "./prepare.ts";
import type { Reservation } from "../../platform/smtp-rate-limit.ts";
import { classify, retryDelayMs } from "./smtp-outcome.ts";

/** How stale the consent and suppression state may be when a message is handed to SMTP. */
export const RECHECK_MS = 1000;
const SLOW_GATE_BACKOFF_MS = 5000;
/** A message the gate refused (stopped or stale) is claimed again after this; its claim re-reads consent. */
const HELD_MS = 2000;

export interface BatchReport {
  claimed: number;
  sent: number;
  suppressed: number;
  failed: number;
  retried: number;
  released: number;
}

export interface HandoffState {
  report: BatchReport;
  /** Claimed ids whose outcome is recorded (or being recorded) or whose message is with SMTP. */
  handled: Set<string>;
  /** Writes and sends still running; the batch awaits them. Each is marked handled at once. */
  pending: Promise<unknown>[];
  /** Messages to try again later, enqueued together when the batch's sends are done. */
  retries: Outcome[];
  /** The first outcome write that failed for good; the batch fails with it once its sends are done. */
  failure?: Error;
  /** Set when the hand-off stopped because consent could not be read fresh: unsent rows wait this long. */
  backoffMs?: number;
  /** Stop handing over the rest of the batch (Redis or PostgreSQL failing); unsent rows go back. */
  halted?: boolean;
  /** Gate generation read before the latest consent read (platform/handoff-gate.ts). */
  epoch?: string;
  /** Per message: the consent ledger row in force at the latest read (marketing). */
  proof: Map<string, string | null>;
  /** The batch's consent read in prepare (prepare.ts), reused while younger than RECHECK_MS. */
  read?: { at: number; epoch: string | null };
  settled?(ids: string[]): void;
}

/**
 * A claim older than this is not used to send any more. A hand-off admitted just before it may take
 * up to MAX_HANDOFF_MS (a hung connection), and the sweep takes the claim over at
 * SEND_CLAIM_TIMEOUT_MS: with the default 300 s that leaves 120 s, so a message in a hung hand-off is
 * never sent again meanwhile. Timeouts below MAX_HANDOFF_MS (tests) keep half the timeout.
 */
export const maxClaimAgeMs = () => {
  const t = config.SEND_CLAIM_TIMEOUT_MS;
  return t > MAX_HANDOFF_MS ? Math.min(t / 2, t - MAX_HANDOFF_MS) : t / 2;
};

/** Adds a promise to the batch's pending work, handled at once so a rejection cannot go unobserved. */
export function track(s: HandoffState, p: Promise<unknown>): void {
  p.catch(() => undefined);
  s.pending.push(p);
}

/** Records outcomes for messages that will not be sent, and settles them once written. */
export function settleWithout(s: HandoffState, outcomes: Outcome[]): void {
  if (outcomes.length === 0) return;
  for (const o of outcomes) s.handled.add(o.id);
  track(s, recordOutcomes(outcomes).then(() => s.settled?.(outcomes.map((o) => o.id))));
}

let handOffs = 0;
/** Campaign batches rank after every api batch for pool slots (see waitSmtpSlot). */
const CAMPAIGN_RANK = 2 ** 40;

/** Hands the first `slots.granted` messages to SMTP; the caller releases whatever is left unhandled. */
export async function handOff(batch: ReadyMessage[], slots: Reservation, s: HandoffState): Promise<void> {
  // Admissions asked ahead for the messages due next (see admitAhead); each is used or given back.
  const admitted = new Map<string, Promise<Gate>>();
  try {
    await handOffEach(batch, slots, s, admitted);
  } finally {
    for (const id of admitted.keys()) giveBack(admitted, id);
  }
}

type Gate = Awaited<ReturnType<typeof admitHandoff>>;
/** At most this many messages are admitted ahead of their pool slot (one gate round trip for all)... */
const ADMIT_AHEAD = 16;
/** ...if their rate-limit slot is due within this: none is held in flight through a long rate wait. */
const ADMIT_AHEAD_MS = 100;

/** A message admitted ahead and then not sent is unregistered at once. */
function giveBack(admitted: Map<string, Promise<Gate>>, id: string): void {
  void admitted.get(id)?.then((x) => x.done());
  admitted.delete(id);
}

async function handOffEach(batch: ReadyMessage[], slots: Reservation, s: HandoffState, admitted: Map<string, Promise<Gate>>): Promise<void> {
  const t0 = Date.now();
  const rank = ++handOffs + (batch.some((x) => x.m.campaignId) ? CAMPAIGN_RANK : 0);
  // The batch was read moments ago in prepare (under a known generation): no second read yet.
  let checkedAt = s.read?.epoch ? s.read.at : -Infinity;
  if (s.read?.epoch) s.epoch = s.read.epoch;
  for (let i = 0; i < slots.granted; i++) {
    const { m } = batch[i];
    const rendered = batch[i];
    if (s.halted || outcomeWritesFailing()) return;
    if (s.handled.has(m.id)) {
      giveBack(admitted, m.id);
      continue;
    }
    const wait = t0 + slots.dueIn(i) - Date.now();
    // While workers shut down, claimed messages not yet handed over go back to `queued` (the caller).
    if (wait > 0 && !(await waitUnlessStopping(wait))) return;
    const release = takeSmtpSlot() ?? (await waitSmtpSlot(rank));
    let sending = false;
    try {
      if (workersStopping() || Date.now() - m.claimedAtMs > maxClaimAgeMs()) return;
      // Re-read (the messages due within the next RECHECK_MS) until a read finishes within RECHECK_MS
      // of its start. A database too slow for that twice running: stop and give the rest back for
      // a while rather than send on stale consent or hammer it.
      for (let reads = 0; Date.now() - checkedAt > RECHECK_MS; reads++) {
        if (workersStopping() || Date.now() - m.claimedAtMs > maxClaimAgeMs()) return;
        if (reads === 2) {
          s.backoffMs = SLOW_GATE_BACKOFF_MS;
          return;
        }
        // The gate's generation before the read: a Redis reset after it makes admissions "stale".
        const epoch = await gateEpoch().catch(() => null);
        if (epoch === null) {
          s.backoffMs = SLOW_GATE_BACKOFF_MS;
          return;
        }
        const started = Date.now();
        // Any message reached before this read goes stale is due before started + RECHECK_MS.
        const horizon = started - t0 + RECHECK_MS;
        const rest: ClaimedMessage[] = [];
        for (let j = i; j < slots.granted && slots.dueIn(j) <= horizon; j++) if (!s.handled.has(batch[j].m.id)) rest.push(batch[j].m);
        const blocked = await gate(rest, s.proof);
        s.epoch = epoch;
        checkedAt = started;
        const late: Outcome[] = rest.filter((x) => blocked.has(x.id)).map((x) => ({ id: x.id, claim: x.claim, kind: "suppressed", reason: blocked.get(x.id) }));
        s.report.suppressed += late.length;
        if (late.length > 0) messagesOutcome.inc({ outcome: "suppressed" }, late.length);
        settleWithout(s, late);
      }
      if (s.handled.has(m.id)) {
        giveBack(admitted, m.id);
        continue;
      }
      if (!admitted.has(m.id)) admitAhead(batch, i, slots, s, t0, admitted);
      const admission = admitted.get(m.id)!;
      admitted.delete(m.id);
      s.handled.add(m.id);
      sending = true;
      s.pending.push(sendOne(rendered, s, release, admission, s.epoch!));
    } finally {
      if (!sending) release();
    }
  }
}

/**
 * Asks the gate to admit message i and the next messages already due (up to ADMIT_AHEAD, not yet
 * handled or admitted) in one round trip: asked in the same turn, they share one Lua call instead of
 * one call per freed pool slot. Each stays registered as in flight from here until its done(), so a
 * stop waits for it (never unsafe); one that is not sent after all is given back by handOff's finally
 * or by sendOne. Only messages due within ADMIT_AHEAD_MS: a rate-limited one is not held in flight
 * through its wait.
 */
function admitAhead(batch: ReadyMessage[], i: number, slots: Reservation, s: HandoffState, t0: number, admitted: Map<string, Promise<Gate>>): void {
  const horizon = Date.now() - t0 + ADMIT_AHEAD_MS;
  for (let j = i, n = 0; j < slots.granted && n < ADMIT_AHEAD; j++) {
    const { m } = batch[j];
    if (j > i && (slots.dueIn(j) > horizon || s.handled.has(m.id) || admitted.has(m.id))) continue;
    n++;
    admitted.set(m.id, admit(m, s.epoch!));
  }
}

function admit(m: ClaimedMessage, epoch: string): Promise<Gate> {
  return admitHandoff({
    messageId: m.id, customerId: m.customerId, campaignId: m.campaignId, marketing: m.topic.kind === "marketing",
    // A confirmation is fenced by a withdrawal of the topic it confirms (its own scope: a new request lifts it).
    topicId: confirmationScope(m) ?? m.topic.id,
  }, epoch);
}

/**
 * The pool slot is given back as soon as SMTP answered: recording the outcome needs no connection.
 * Never rejects (so it needs no extra handler per message): a failed write is kept for the batch.
 */
async function sendOne(x: ReadyMessage, s: HandoffState, release: () => void, admission: Promise<Gate>, epoch: string): Promise<void> {
  const { m, raw } = x;
  try {
    let gate = await admission;
    // Admitted ahead, then a long wait for the pool: past its use-by time it asks again.
    if (gate.admission === "admitted" && Date.now() - gate.at > USE_WITHIN_MS) {
      gate.done();
      gate = await admit(m, epoch);
    }
    // The admission took a round trip: the claim must still be young enough right before SMTP.
    const tooOld = Date.now() - m.claimedAtMs > maxClaimAgeMs() || workersStopping();
    if (gate.admission !== "admitted" || tooOld || s.halted || outcomeWritesFailing()) {
      gate.done();
      release();
      hold(s, m, tooOld ? "stopped" : gate.admission);
      return;
    }
    let outcome: Outcome;
    try {
      const proof = { consentEventId: s.proof.get(m.id) ?? null, personaKey: x.persona, variant: x.variant };
      outcome = await attempt(m, raw, s.report, proof);
    } finally {
      gate.done();
      release();
    }
    await recordOutcome(outcome, m.claimedAtMs);
    if (outcome.kind === "retry") s.retries.push(outcome);
    else s.settled?.([m.id]);
  } catch (err) {
    s.failure ??= err as Error;
  }
}

/** Not handed over after all: the batch gives it back to `queued` (its next claim reads consent again). */
function hold(s: HandoffState, m: ClaimedMessage, admission: Admission): void {
  s.handled.delete(m.id);
  const trouble = admission === "unavailable" || admission === "admitted"; // admitted: a write failed meanwhile
  if (trouble && !s.halted) {
    s.halted = true;
    logger.warn({ admission, writesFailing: outcomeWritesFailing() }, "hand-off stopped: the rest of the batch goes back to the queue");
  }
  s.backoffMs = Math.max(s.backoffMs ?? 0, trouble ? SLOW_GATE_BACKOFF_MS : HELD_MS);
}

/** One SMTP attempt and its outcome: sent, retry later (4xx, connection, X.2.2), failed or bounced. */
async function attempt(m: ClaimedMessage, raw: Buffer, report: BatchReport, proof: Outcome["proof"]): Promise<Outcome> {
  const n = m.attempts + 1;
  const base = { id: m.id, claim: m.claim, attempted: true, proof };
  try {
    // Envelope sender: the signed return path, so that bounces find this message (inbound/return-path.ts).
    await sendRaw({ from: returnPath(m.id), to: m.customer.email!, raw, messageId: messageIdHeader(m.id) });
    report.sent++;
    messagesOutcome.inc({ outcome: "sent" });
    return { ...base, kind: "sent" };
  } catch (err) {
    const v = classify(err);
    if (v.kind === "retry" && n < config.SEND_MAX_ATTEMPTS) {
      report.retried++;
      messagesOutcome.inc({ outcome: "retried" });
      return { ...base, kind: "retry", detail: v.detail, retryAt: new Date(Date.now() + retryDelayMs(n)) };
    }
    report.failed++;
    messagesOutcome.inc({ outcome: v.kind === "bounced" ? "bounced" : "failed" });
    const detail = v.kind === "retry" ? `gave up after ${n} attempts: ${v.detail}` : v.detail;
    return { ...base, kind: v.kind === "bounced" ? "bounced" : "failed", detail, addressHash: m.customer.emailHash };
  }
}
