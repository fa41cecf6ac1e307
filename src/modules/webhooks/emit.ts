// The emit API the domain uses: events become deliveries (one batched insert for all subscribed
// endpoints) and jobs carrying delivery ids. Inside a transaction, record with the transaction's
// client and enqueue after the commit; a job that never got enqueued is found by the sweep.
import type pg from "pg";
import { logger } from "../../platform/logger.ts";
import { pool } from "../../platform/prisma.ts";
import { enqueue, QueueNames } from "../../platform/queues.ts";
import { insertDeliveries } from "./webhooks.repository.ts";
import type { WebhookEventType } from "./webhooks.schema.ts";

/** Payloads carry ids (customer, message, topic, campaign), never addresses or other PII. */
export interface DomainEvent {
  type: WebhookEventType;
  data: Record<string, unknown>;
  at?: Date;
}

const JOB_SIZE = 100;

export const eventBody = (type: string, data: Record<string, unknown>, at = new Date()) =>
  JSON.stringify({ type, timestamp: at.toISOString(), data });

/** Writes the deliveries for these events (in the caller's transaction when given a client). */
export async function recordEvents(q: pg.PoolClient | typeof pool, events: DomainEvent[]): Promise<string[]> {
  return insertDeliveries(q, events.map((e) => ({ type: e.type, body: eventBody(e.type, e.data, e.at) })));
}

/**
 * One job per JOB_SIZE deliveries. Never throws: the events are already committed, and an enqueue
 * that fails (Redis away) is repaired by the sweep, so the caller's request must not fail for it.
 */
export async function enqueueDeliveries(ids: string[], delayMs = 0, tag = "e"): Promise<void> {
  if (ids.length === 0) return;
  const jobs = [];
  for (let i = 0; i < ids.length; i += JOB_SIZE) {
    const chunk = ids.slice(i, i + JOB_SIZE);
    jobs.push({ id: `wh-${tag}-${chunk[0]}-${chunk.length}`, data: { ids: chunk }, delayMs });
  }
  try {
    await enqueue(QueueNames.webhookDelivery, jobs, { attempts: 1 });
  } catch (err) {
    logger.warn({ deliveries: ids.length, err: (err as Error).message }, "webhook deliveries not enqueued; the sweep will retry them");
  }
}

/** Record and enqueue, outside any transaction. */
export async function emitEvents(events: DomainEvent[]): Promise<void> {
  await enqueueDeliveries(await recordEvents(pool, events));
}
