// Use case: a customer's cadence and pause (cadence.ts), from the preference center or the API.
// Current state lives on the customer; each change is a customer-wide ledger row (no topic), in the
// same hash chain as their consent rows, written in the same transaction as the state.
import { notFound } from "../../platform/errors.ts";
import { defaultStopTtlMs, liftStopIf, stopHandoffs, stopMark } from "../../platform/handoff-gate.ts";
import { logger } from "../../platform/logger.ts";
import { db, pool } from "../../platform/prisma.ts";
import { onCommit, withTransaction } from "../../platform/sql.ts";
import { enqueueDeliveries, recordEvents } from "../webhooks/emit.ts";
import { cadenceLimit, cadenceWording, pauseWording, stricter, type Cadence } from "./cadence.ts";
import { appendLedger, type LedgerEntry } from "./consent.repository.ts";

export interface SetCadenceInput {
  customerId: string;
  cadence?: Cadence;
  /** A future date pauses all marketing until then; null ends a pause. */
  pausedUntil?: Date | null;
  source: string;
  proof?: string;
  ip?: string;
  userAgent?: string;
  actor: string;
}

export interface CadenceView {
  cadence: Cadence;
  /** Null when not paused (a pause that has ended reads null). */
  pausedUntil: string | null;
}

const activePause = (d: Date | null, now = Date.now()) => (d && d.getTime() > now ? d : null);
const view = (c: { cadence: Cadence; pausedUntil: Date | null }): CadenceView => ({
  cadence: c.cadence, pausedUntil: activePause(c.pausedUntil)?.toISOString() ?? null,
});

export async function getCadence(customerId: string): Promise<CadenceView> {
  const c = await db.customer.findFirst({ where: { id: customerId, erasedAt: null }, select: { cadence: true, pausedUntil: true } });
  if (!c) throw notFound("Customer", customerId);
  return view(c);
}

/** Whether the customer has already had what `cadence` allows in its window (sent or on its way). */
async function overLimit(customerId: string, cadence: Cadence, slack = 0): Promise<boolean> {
  const limit = cadenceLimit(cadence);
  if (!limit) return false;
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM messages m JOIN topics t ON t.id = m.topic_id AND t.kind = 'marketing'
      WHERE m.customer_id = $1::uuid AND (m.status = 'sending' OR (m.status = 'sent' AND m.sent_at > now() - make_interval(days => $2::int)))`,
    [customerId, limit.days],
  );
  return rows[0].n >= limit.count + slack;
}

/**
 * Changes the cadence and/or the pause; repeating the current state writes nothing. A change that
 * may refuse a message (a pause, or a stricter cadence the customer has already reached) first
 * fences the hand-off of their marketing (like a withdrawal: platform/handoff-gate.ts), so once this
 * returns nothing more reaches SMTP against it. Redis away: 503 and nothing changed.
 */
export async function setCadence(input: SetCadenceInput): Promise<CadenceView> {
  const before = await db.customer.findFirst({
    where: { id: input.customerId, erasedAt: null }, select: { id: true, dataKey: true, cadence: true, pausedUntil: true },
  });
  if (!before?.dataKey) throw notFound("Customer", input.customerId);
  const now = Date.now();
  const pause = input.pausedUntil === undefined ? undefined : activePause(input.pausedUntil, now);
  const pausing = pause !== undefined && pause !== null && pause.getTime() !== before.pausedUntil?.getTime();
  const tighter = input.cadence !== undefined && stricter(input.cadence, before.cadence);
  const scope = { customerId: before.id, marketing: true };
  // The mark lives as long as the pause when that is shorter: then the next message may go.
  // A stricter cadence is always fenced first: a count before the change cannot see messages claimed
  // and counted under the old cadence until it commits, which would reach SMTP after it returned.
  const fence = () => pausing ? stopHandoffs(scope, { ttlMs: Math.max(1, Math.min(defaultStopTtlMs(), pause.getTime() - now)) })
    : tighter ? stopHandoffs(scope) : Promise.resolve();
  await fence();

  const result = await withTransaction(async (client) => {
    // The ledger's lock (the customer row) first, then the state as it is now.
    await client.query("SELECT 1 FROM customers WHERE id = $1::uuid FOR NO KEY UPDATE", [before.id]);
    // The mark a lift below may remove, read under that lock: a change that commits after this one
    // and needs a fence marks again after its commit (a mark set since is not this one's to lift).
    const mark = await stopMark(scope).catch(() => null);
    const cur = await client.query<{ cadence: Cadence; paused_until: Date | null; erased: boolean }>(
      "SELECT cadence::text AS cadence, paused_until, erased_at IS NOT NULL AS erased FROM customers WHERE id = $1::uuid", [before.id]);
    const row = cur.rows[0];
    if (!row || row.erased) throw notFound("Customer", input.customerId);
    const entries: LedgerEntry[] = [];
    const common = {
      customerId: before.id, topicId: null, channel: "email" as const, status: null, source: input.source, proof: input.proof,
      ip: input.ip, userAgent: input.userAgent, actor: input.actor, dataKey: Buffer.from(before.dataKey!),
    };
    const next = { cadence: row.cadence, pausedUntil: activePause(row.paused_until, now) };
    if (input.cadence !== undefined && input.cadence !== row.cadence) {
      entries.push({ ...common, action: "cadence_changed", value: input.cadence, wording: cadenceWording(input.cadence) });
      next.cadence = input.cadence;
    }
    if (pause !== undefined && pause?.getTime() !== next.pausedUntil?.getTime()) {
      entries.push(pause
        ? { ...common, action: "paused", value: pause.toISOString(), wording: pauseWording(pause) }
        : { ...common, action: "resumed", value: null, wording: pauseWording(null) });
      next.pausedUntil = pause;
    }
    if (entries.length === 0) return { next, entries, mark };
    await appendLedger(client, entries);
    await client.query("UPDATE customers SET cadence = $2::\"Cadence\", paused_until = $3, updated_at = now() WHERE id = $1::uuid", [
      before.id, next.cadence, next.pausedUntil,
    ]);
    const deliveries = await recordEvents(client, entries.map((e) => ({
      type: "consent.changed" as const,
      data: { customerId: before.id, topic: null, action: e.action, source: e.source, cadence: next.cadence, pausedUntil: next.pausedUntil?.toISOString() ?? null },
    })));
    if (deliveries.length) onCommit(client, () => enqueueDeliveries(deliveries));
    return { next, entries, mark };
  });

  // Loosened (no pause, a cadence no stricter than before): messages held by an earlier mark may go.
  const loosened = result.entries.length > 0 && !result.next.pausedUntil && !tighter;
  // Stricter, but what is sent or on its way (every message counted under the old cadence is in
  // `sending` by now) fits the new limit: nothing can exceed it, the mark may go.
  const fits = tighter && !pausing && !result.next.pausedUntil && !(await overLimit(before.id, result.next.cadence, 1).catch(() => true));
  if (loosened || fits) {
    await liftStopIf(scope, result.mark).catch((err: Error) => logger.warn({ err: err.message }, "could not lift a cadence mark; it expires by itself"));
  } else if (result.entries.length > 0) {
    // A concurrent looser change that committed first may have lifted this one's mark after reading it.
    await fence();
  }
  return { cadence: result.next.cadence, pausedUntil: result.next.pausedUntil?.toISOString() ?? null };
}
