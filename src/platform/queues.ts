// Every queue in one map. Jobs carry ids, never payloads with PII; job ids are deterministic and
// contain no ':' (BullMQ uses it as a key separator).
import { Queue, type JobsOptions } from "bullmq";
import { config } from "./config.ts";
import { AppError } from "./errors.ts";
import { createRedis } from "./redis.ts";

export const QueueNames = {
  customerImport: "customer-import",
  messageDelivery: "message-delivery",
  campaignDelivery: "campaign-delivery",
  campaignFanout: "campaign-fanout",
  webhookDelivery: "webhook-delivery",
} as const;

export type QueueName = (typeof QueueNames)[keyof typeof QueueNames];

const defaults: JobsOptions = {
  attempts: 8,
  backoff: { type: "exponential", delay: 2000, jitter: 0.5 },
  removeOnComplete: { age: 3600, count: 10000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

const queues = new Map<QueueName, Queue>();
let connection: ReturnType<typeof createRedis> | null = null;

export function queue(name: QueueName): Queue {
  let q = queues.get(name);
  if (!q) {
    // Producers only (workers have their own blocking connections): a non-blocking connection fails
    // commands after a few reconnect attempts instead of queueing them for the whole of an outage.
    connection ??= createRedis();
    q = new Queue(name, { connection, prefix: config.QUEUE_PREFIX, defaultJobOptions: defaults });
    // The connection logs its own errors (throttled, redis.ts); without a listener the Queue would
    // print each one again.
    q.on("error", () => undefined);
    queues.set(name, q);
  }
  return q;
}

export const safeJobId = (...parts: string[]) => parts.join("-").replace(/:/g, "_");

export interface JobSpec<T> {
  id: string;
  data: T;
  delayMs?: number;
  /** Absolute due time (ms since the epoch); exact, unlike a delay computed before the call. */
  at?: number;
  /** BullMQ priority (1 = first; jobs without one are taken before any prioritized job). */
  priority?: number;
}

// While Redis is away BullMQ waits for it without limit; a request must not. After this long an
// enqueue fails with 503 (callers keep their rows recoverable: the sweep, a repeated request).
const ENQUEUE_TIMEOUT_MS = 3000;

function withinTimeout<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AppError("unavailable", "The job queue (Redis) is not reachable; try again shortly")), ENQUEUE_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Enqueue jobs (in chunks of 1000, one round trip each). Modules use this instead of bullmq. */
export async function enqueue<T extends object>(name: QueueName, jobs: JobSpec<T>[], opts: JobsOptions = {}): Promise<void> {
  for (let i = 0; i < jobs.length; i += 1000) {
    const added = queue(name).addBulk(
      jobs.slice(i, i + 1000).map((j) => {
        // BullMQ runs a job at timestamp + delay: one clock reading for both keeps `at` exact.
        const now = Date.now();
        const delay = j.at !== undefined ? j.at - now : j.delayMs;
        return { name, data: j.data, opts: { ...opts, jobId: safeJobId(j.id), timestamp: now, delay: delay && delay > 0 ? delay : undefined, priority: j.priority } };
      }),
    );
    added.catch(() => undefined); // may still settle after the timeout
    await withinTimeout(added);
  }
}

/** BullMQ's highest priority number. */
export const MAX_PRIORITY = 2_097_152;

/** The priority of the first prioritized job waiting in the queue, or null when none waits. */
export async function firstWaitingPriority(name: QueueName): Promise<number | null> {
  const [first] = await queue(name).getPrioritized(0, 0);
  return first ? first.priority : null;
}

export async function closeQueues(): Promise<void> {
  await Promise.all([...queues.values()].map((q) => q.close().catch(() => undefined)));
  queues.clear();
  if (connection) await connection.quit().catch(() => undefined);
  connection = null;
}

/** Job counts per queue and state, for metrics. */
export async function queueCounts(): Promise<Array<{ queue: QueueName; counts: Record<string, number> }>> {
  const names = Object.values(QueueNames);
  return Promise.all(
    names.map(async (n) => ({ queue: n, counts: await queue(n).getJobCounts("waiting", "active", "delayed", "failed", "completed") })),
  );
}

/**
 * When the oldest job that is waiting or running in this queue was added (ms since epoch), or null
 * when there is none. A queued row untouched since well before that has no job any more.
 */
export async function oldestPendingJobAt(name: QueueName): Promise<number | null> {
  const q = queue(name);
  const [waiting, prioritized, active] = await withinTimeout(
    Promise.all([q.getJobs(["waiting"], 0, 0, true), q.getJobs(["prioritized"], 0, 0, true), q.getJobs(["active"], 0, -1)]),
  );
  const times = [...waiting, ...prioritized, ...active].filter(Boolean).map((j) => j.timestamp);
  return times.length > 0 ? Math.min(...times) : null;
}
