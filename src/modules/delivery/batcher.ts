// Coalesces the ids of concurrently running delivery jobs into larger batches (group commit). One
// batch prepares at a time (claim, consent check, render); ids that arrive meanwhile go out together
// in the next one, as soon as the previous batch has handed its messages to SMTP. Sending overlaps,
// bounded by maxInFlight messages per process. A job completes when its own ids are
// settled, so BullMQ keeps fetching work while slow sends of a batch are still running.
import { config } from "../../platform/config.ts";
import { logger } from "../../platform/logger.ts";
import { deliverBatch, isDraining } from "./deliver.service.ts";
import { enqueueDelivery } from "./dispatch.ts";

interface Waiting {
  remaining: Set<string>;
  resolve: () => void;
  reject: (err: Error) => void;
}

const maxBatch = () => config.SEND_BATCH_SIZE * 4;
const maxInFlight = () => config.SEND_BATCH_SIZE * 6;

const queue: Waiting[] = [];
// id -> the jobs waiting for it (the same id may come from two jobs, e.g. a sweep and the original).
const byId = new Map<string, Waiting[]>();
let preparing = false;
let inFlight = 0;

function settle(ids: string[]): void {
  for (const id of ids) {
    const ws = byId.get(id);
    if (!ws) continue;
    byId.delete(id);
    inFlight--;
    for (const w of ws) {
      w.remaining.delete(id);
      if (w.remaining.size === 0) w.resolve();
    }
  }
  next();
}

function next(): void {
  // Hysteresis: wait until a whole batch fits, so that a busy process sends few large batches rather
  // than many small ones (each batch costs the same few queries whatever its size).
  if (preparing || queue.length === 0 || (inFlight > 0 && inFlight > maxInFlight() - maxBatch())) return;
  const ids: string[] = [];
  while (queue.length > 0 && (ids.length === 0 || ids.length + queue[0].remaining.size <= maxBatch())) {
    const w = queue.shift()!;
    for (const id of w.remaining) {
      const ws = byId.get(id);
      if (ws) ws.push(w);
      else {
        byId.set(id, [w]);
        ids.push(id);
      }
    }
  }
  if (ids.length === 0) return next();
  inFlight += ids.length;
  preparing = true;
  const done = () => {
    if (!preparing) return;
    preparing = false;
    next();
  };
  void run(ids, done);
}

async function run(ids: string[], prepared: () => void): Promise<void> {
  const t0 = performance.now();
  try {
    if (isDraining()) {
      // Shutting down: hand the ids to a fresh job instead of claiming them now.
      await enqueueDelivery(ids, { tag: `x${Date.now().toString(36)}` });
    } else {
      const r = await deliverBatch(ids, { prepared, settled: settle });
      logger.debug({ ids: ids.length, ms: Math.round(performance.now() - t0), ...r }, "delivery batch");
    }
    settle(ids);
  } catch (err) {
    // The jobs of this batch fail and BullMQ retries them; claimed rows were released.
    for (const id of ids) for (const w of byId.get(id) ?? []) w.reject(err as Error);
    settle(ids);
  } finally {
    prepared();
  }
}

/** Delivers these queued messages as part of a shared batch; resolves when they are settled. */
export function deliver(ids: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    queue.push({ remaining: new Set(ids), resolve, reject });
    next();
  });
}
