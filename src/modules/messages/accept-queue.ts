// Group commit of the send API. Each POST /v1/messages used to cost its own three round trips
// (resolve, eligibility, insert); under load most of the API's CPU went into writing those queries
// to the socket. Requests that arrive while a group is being written wait for the next group, and
// a group is resolved in one statement and accepted per (topic, template version) by the one
// acceptance path (accept.ts). A lone request waits for nothing: it is a group of one.
import { AppError, isConnectionError } from "../../platform/errors.ts";
import { logger } from "../../platform/logger.ts";
import { acceptBatch, type AcceptItem } from "./accept.ts";
import { resolveSends, type InsertedMessage, type Resolved, type SendRef } from "./messages.repository.ts";

export interface SendRequest extends SendRef {
  item: Omit<AcceptItem, "customerId" | "personaKey">;
}

export interface SendDecision {
  resolved: Resolved;
  /** The row written; null when the idempotency key was taken meanwhile; undefined when not resolved. */
  row?: InsertedMessage | null;
}

interface Waiting {
  req: SendRequest;
  resolve(d: SendDecision): void;
  reject(err: unknown): void;
  /** Answered (a later batch of the same group failing must not write its rows again). */
  done?: boolean;
}

const MAX_GROUP = 500;
const MAX_WAITING = 20_000;
/** Groups written at once, and how many requests must wait before a second one starts. */
const MAX_WRITING = 3;
const MIN_OVERLAP = 16;
/** How many groups were written, the largest, and the most written at once (for tests and the benchmark). */
export const acceptGroups = { written: 0, largest: 0, mostAtOnce: 0 };
let queue: Waiting[] = [];
let writing = 0;

export function acceptSend(req: SendRequest): Promise<SendDecision> {
  // A database slower than the requests arrive: refuse (503, Retry-After) rather than queue without
  // bound and write rows for clients that gave up long ago.
  if (queue.length >= MAX_WAITING) return Promise.reject(new AppError("unavailable", "The engine is accepting messages more slowly than they arrive; try again shortly"));
  return new Promise((resolve, reject) => {
    queue.push({ req, resolve, reject });
    next();
  });
}

function next(): void {
  // One group at a time while few wait; when many wait, a further group is written alongside, so
  // that the accept rate is not one group per database round trip (groups are independent: the
  // database's constraints decide between them, as between API processes).
  while (queue.length > 0 && (writing === 0 || (writing < MAX_WRITING && queue.length >= MIN_OVERLAP))) {
    writing++;
    acceptGroups.mostAtOnce = Math.max(acceptGroups.mostAtOnce, writing);
    const group = queue.slice(0, MAX_GROUP);
    acceptGroups.written++;
    acceptGroups.largest = Math.max(acceptGroups.largest, group.length);
    queue = queue.slice(group.length);
    void write(group).finally(() => {
      writing--;
      next();
    });
  }
}

async function write(group: Waiting[]): Promise<void> {
  try {
    await decide(group);
  } catch (err) {
    const open = group.filter((w) => !w.done);
    // The database away: everyone gets the same 503. (acceptBatch fails only before or at its one
    // insert statement, never after it committed, so retrying the unanswered ones writes no row twice.)
    if (open.length === 1 || isConnectionError(err)) return open.forEach((w) => w.reject(err));
    // One request's row must not fail the others (a value the database refuses, say): each alone.
    logger.warn({ err: (err as Error).message, size: open.length }, "group accept failed; accepting its requests one by one");
    for (const w of open) await decide([w]).catch((e: unknown) => w.reject(e));
  }
}

function answer(w: Waiting, d: SendDecision): void {
  w.done = true;
  w.resolve(d);
}

async function decide(group: Waiting[]): Promise<void> {
  const resolved = await resolveSends(group.map((w) => w.req));
  const batches = new Map<string, Array<{ w: Waiting; r: Resolved }>>();
  group.forEach((w, i) => {
    const r = resolved[i];
    if (!r.customerId || !r.topicId || !r.topicKind || !r.templateVersionId) return answer(w, { resolved: r });
    const key = `${r.topicId}|${r.templateVersionId}`;
    const list = batches.get(key);
    if (list) list.push({ w, r });
    else batches.set(key, [{ w, r }]);
  });
  for (const list of batches.values()) {
    const { r } = list[0];
    const out = await acceptBatch({
      topic: { id: r.topicId!, kind: r.topicKind! },
      templateVersionId: r.templateVersionId!,
      items: list.map(({ w, r: x }) => ({ ...w.req.item, customerId: x.customerId!, personaKey: x.persona })),
    });
    list.forEach(({ w, r: x }, i) => answer(w, { resolved: x, row: out.rows[i] }));
  }
}
