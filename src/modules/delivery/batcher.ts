// Coalesces the ids of concurrently running delivery jobs into larger batches (group commit). One
// batch prepares at a time (claim, consent check, render); ids that arrive meanwhile go out together
// in the next one, as soon as the previous batch has handed its messages to SMTP. Sending overlaps,
// bounded by maxInFlight messages per process. A job completes when its own ids are
// settled, so BullMQ keeps fetching work while slow sends of a batch are still running.
import { config } from "../../platform/config.ts";
import { logger } from "../../platform/logger.ts";
import { workersStopping } from "../../platform/worker-state.ts";
import { deliverBatch } from "./deliver.service.ts";
import { enqueueDelivery, type Lane } from "./dispatch.ts";

interface Waiting {
  lane: Lane;
  remaining: Set<string>;
  resolve: () => void;
  reject: (err: Error) => void;
}

// An id in a running batch: the jobs it came from, and jobs that brought the same id meanwhile
// (a sweep, a release or a retry job). The batch may not have sent it (released, retry due later),
// so those later jobs get a fresh turn for it when the batch settles it; their claim decides.
interface InFlight {
  batch: number;
  waiters: Waiting[];
  later: Waiting[];
}

const maxBatch = () => config.SEND_BATCH_SIZE * 4;
// Three batches: room for a campaign batch being handed over, the next one being prepared, and an
// api batch. (At 6, campaign batches could only start with nothing in flight: no overlap at all.)
const maxInFlight = () => config.SEND_BATCH_SIZE * 12;

// The api lane is served first, and campaign batches leave room for one api batch in flight, so a
// transactional message waits at most for one batch being prepared, never for a campaign's backlog.
const lanes: Record<Lane, Waiting[]> = { api: [], campaign: [] };
const byId = new Map<string, InFlight>();
let preparing = false;
let inFlight = 0;
let batches = 0;

function done(w: Waiting, id: string): void {
  w.remaining.delete(id);
  if (w.remaining.size === 0) w.resolve();
}

function settle(batch: number, ids: string[]): void {
  for (const id of ids) {
    const entry = byId.get(id);
    if (!entry || entry.batch !== batch) continue;
    byId.delete(id);
    inFlight--;
    for (const w of entry.waiters) done(w, id);
    for (const w of entry.later) lanes[w.lane].push({ lane: w.lane, remaining: new Set([id]), resolve: () => done(w, id), reject: w.reject });
  }
  next();
}

function next(): void {
  // Hysteresis: wait until a whole batch fits, so that a busy process sends few large batches rather
  // than many small ones (each batch costs the same few queries whatever its size).
  if (preparing || (inFlight > 0 && inFlight > maxInFlight() - maxBatch())) return;
  const campaignRoom = inFlight === 0 || inFlight <= maxInFlight() - 2 * maxBatch();
  const queue = lanes.api.length > 0 ? lanes.api : campaignRoom ? lanes.campaign : null;
  if (!queue || queue.length === 0) return;
  const lane: Lane = queue === lanes.api ? "api" : "campaign";
  const batch = ++batches;
  const ids: string[] = [];
  while (queue.length > 0 && (ids.length === 0 || ids.length + queue[0].remaining.size <= maxBatch())) {
    const w = queue.shift()!;
    for (const id of w.remaining) {
      const entry = byId.get(id);
      if (entry) entry.later.push(w);
      else {
        byId.set(id, { batch, waiters: [w], later: [] });
        ids.push(id);
      }
    }
  }
  if (ids.length === 0) return next();
  inFlight += ids.length;
  preparing = true;
  // Per batch: a batch that reported `prepared` earlier must not clear the flag of the next one.
  let mine = true;
  const prepared = () => {
    if (!mine) return;
    mine = false;
    preparing = false;
    next();
  };
  void run(batch, ids, lane, prepared);
}

async function run(batch: number, ids: string[], lane: Lane, prepared: () => void): Promise<void> {
  const t0 = performance.now();
  try {
    if (workersStopping()) {
      // Shutting down: hand the ids to a fresh job instead of claiming them now.
      await enqueueDelivery(ids, { tag: `x${Date.now().toString(36)}`, lane });
    } else {
      const r = await deliverBatch(ids, { prepared, settled: (done) => settle(batch, done) });
      logger.debug({ ids: ids.length, ms: Math.round(performance.now() - t0), ...r }, "delivery batch");
    }
    settle(batch, ids);
  } catch (err) {
    // The jobs of this batch fail and BullMQ retries them; claimed rows were released.
    for (const id of ids) {
      const entry = byId.get(id);
      if (entry?.batch === batch) for (const w of entry.waiters) w.reject(err as Error);
    }
    settle(batch, ids);
  } finally {
    prepared();
  }
}

/** Delivers these queued messages as part of a shared batch; resolves when they are settled. */
export function deliver(ids: string[], lane: Lane = "api"): Promise<void> {
  return new Promise((resolve, reject) => {
    lanes[lane].push({ lane, remaining: new Set(ids), resolve, reject });
    next();
  });
}
