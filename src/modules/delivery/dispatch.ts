// Hands queued message ids to the delivery queue. One BullMQ job costs about as much CPU as a send,
// so ids accepted within a few milliseconds share one job (the API accepts one message per request).
// Jobs carry ids only. The database row is the truth: an id whose job is lost is found by the sweep.
import { config } from "../../platform/config.ts";
import { logger } from "../../platform/logger.ts";
import { enqueue, firstWaitingPriority, MAX_PRIORITY, QueueNames, type JobSpec } from "../../platform/queues.ts";
import { runScript } from "../../platform/redis.ts";

export interface DeliveryJob {
  ids: string[];
}

const WINDOW_MS = 10;

let buffer: string[] = [];
let waiters: Array<(ok: boolean) => void> = [];
let timer: NodeJS.Timeout | null = null;

function chunks(ids: string[], size = config.SEND_BATCH_SIZE): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += size) out.push(ids.slice(i, i + size));
  return out;
}

/**
 * Enqueues delivery jobs for these ids now. `tag` keeps job ids distinct per purpose (first send,
 * retry n, sweep), because BullMQ silently ignores a job whose id it still remembers.
 */
export type Lane = "api" | "campaign";

/**
 * Two lanes: `api` (POST /v1/messages, transactional, retries of those) and `campaign` (campaign
 * waves). Separate queues, and the batcher serves the api lane first with capacity reserved for it,
 * so a message sent through the API never waits behind a campaign's backlog.
 */
const laneQueue = { api: QueueNames.messageDelivery, campaign: QueueNames.campaignDelivery } as const;

export async function enqueueDelivery(ids: string[], opts: { tag?: string; delayMs?: number; lane?: Lane; campaignId?: string } = {}): Promise<void> {
  const parts = chunks(ids);
  const first = opts.campaignId ? await campaignTurns(opts.campaignId, parts.length) : null;
  const jobs: JobSpec<DeliveryJob>[] = parts.map((c, i) => ({
    id: ["md", opts.tag, c[0], String(c.length)].filter(Boolean).join("-"),
    data: { ids: c },
    delayMs: opts.delayMs,
    priority: first === null ? undefined : Math.min(MAX_PRIORITY, first + i),
  }));
  // Job-level retries only cover infrastructure errors (the database was down); SMTP outcomes are
  // handled per message by the worker itself.
  await enqueue(laneQueue[opts.lane ?? "api"], jobs, { attempts: 5, backoff: { type: "exponential", delay: 1000, jitter: 0.5 } });
}

// Fair share between running campaigns: each campaign numbers its delivery jobs 1, 2, 3 ... from
// where the lane stands when it starts (the first prioritized job still waiting), and that number is
// the job's BullMQ priority. Jobs of equal number go in arrival order, so two campaigns' backlogs
// interleave job by job instead of the later one waiting for the whole of the earlier one. (Retries
// and released messages carry no priority: BullMQ takes those first.)
const TURNS = `
local cur = math.max(tonumber(redis.call('GET', KEYS[1]) or ARGV[2]), tonumber(ARGV[2]))
redis.call('SET', KEYS[1], cur + tonumber(ARGV[1]), 'PX', 86400000)
return cur`;

async function campaignTurns(campaignId: string, n: number): Promise<number> {
  const level = (await firstWaitingPriority(laneQueue.campaign)) ?? 1;
  return Number(await runScript(TURNS, [`${config.QUEUE_PREFIX}:campaign-turn:${campaignId}`], [n, level]));
}

/** Enqueues, or logs and reports false (enqueue() gives up after a few seconds without Redis). */
function enqueueOrGiveUp(ids: string[]): Promise<boolean> {
  return enqueueDelivery(ids).then(
    () => true,
    (err: Error) => {
      // The rows stay `queued`; the sweep re-enqueues them.
      logger.error({ err: err.message, count: ids.length }, "could not enqueue delivery; the sweep will retry");
      return false;
    },
  );
}

async function flush(): Promise<void> {
  if (timer) clearTimeout(timer);
  timer = null;
  const ids = buffer;
  const done = waiters;
  buffer = [];
  waiters = [];
  if (ids.length === 0) return;
  const ok = await enqueueOrGiveUp(ids);
  for (const w of done) w(ok);
}

// Enqueues in progress, so that a shutdown can wait for them (flushScheduledDeliveries).
const inProgress = new Set<Promise<unknown>>();
function tracked<T>(p: Promise<T>): Promise<T> {
  inProgress.add(p);
  void p.finally(() => inProgress.delete(p));
  return p;
}

/**
 * Schedules delivery of queued messages, coalescing ids from concurrent callers into jobs of up to
 * SEND_BATCH_SIZE. Resolves once enqueued (true) or when enqueueing failed (false; logged, the rows
 * stay queued and the sweep picks them up), so a caller never fails after its rows are committed.
 */
export function scheduleDelivery(ids: string[]): Promise<boolean> {
  if (ids.length === 0) return Promise.resolve(true);
  if (ids.length >= config.SEND_BATCH_SIZE) return tracked(enqueueOrGiveUp(ids));
  const p = new Promise<boolean>((resolve) => waiters.push(resolve));
  buffer.push(...ids);
  if (buffer.length >= config.SEND_BATCH_SIZE) void tracked(flush());
  else timer ??= setTimeout(() => void tracked(flush()), WINDOW_MS);
  return p;
}

/** Enqueues what waits for its window now, and waits for every enqueue in progress (shutdown). */
export async function flushScheduledDeliveries(): Promise<void> {
  if (buffer.length > 0) void tracked(flush());
  await Promise.allSettled([...inProgress]);
}
