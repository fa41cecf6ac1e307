// The hand-off gate: an exact fence between "stop sending X" (a consent withdrawal, an erasure, a
// paused campaign) and the SMTP hand-off, shared by every process through Redis. Protocol and proof:
// src/modules/messages/CONTEXT.md ("Exact withdrawal").
//   stop:  mark the scope, then wait (bounded) until every hand-off admitted before the mark is done.
//   admit: right before nodemailer gets a message, one atomic check-and-register per message (refused
//          when a scope of the message is marked, else registered as in flight until done(), or its
//          lease ends); the admissions asked within one turn of the event loop share one Lua call.
// Redis is the fence only; PostgreSQL stays the truth. A refused message is given back (queued), and
// its next claim reads the durable state. Fail closed: no Redis, no admission; no Redis, no stop.
import { randomBytes } from "node:crypto";
import { config } from "./config.ts";
import { AppError } from "./errors.ts";
import { logger } from "./logger.ts";
import { MAX_HANDOFF_MS } from "./mailer.ts";
import { redis, runScript } from "./redis.ts";
import { ADMIT, GEN, LIFT_IF, PENDING, REREGISTER, STOP, UNREGISTER } from "./handoff-gate.scripts.ts";

/**
 * What a stop covers: a customer's topic, all of a customer's marketing (a pause or a stricter
 * cadence: transactional mail still goes), all of a customer's mail, or a campaign.
 */
export type StopScope = { customerId: string; topicId?: string; marketing?: boolean } | { campaignId: string };

/** What a hand-off is about; each of its scopes can stop it. */
export interface HandoffSubject {
  messageId: string;
  customerId: string;
  topicId: string;
  campaignId?: string | null;
  /** A marketing message: a stop of the customer's marketing fences it too. */
  marketing?: boolean;
}

export type Admission = "admitted" | "stopped" | "stale" | "unavailable";

/** After a Redis reset, stops wait this long for workers to re-register hand-offs still in flight. */
const GRACE_MS = 1000;
const HEARTBEAT_MS = 250;
/** A finished hand-off stays registered at most this long (a stop may wait for it that much longer). */
const FLUSH_MS = 10;
/**
 * An admission must reach nodemailer within this of the admitHandoff call (a hand-off may be admitted
 * while it waits for a pool slot); an older one is given back and asked again. The lease covers that
 * wait and then the longest nodemailer can hold a message.
 */
export const USE_WITHIN_MS = 5_000;
const LEASE_MS = USE_WITHIN_MS + MAX_HANDOFF_MS;

const k = (s: string) => `${config.QUEUE_PREFIX}:gate:${s}`;
const genKey = () => k("gen");
const runKey = (s: StopScope) => ("campaignId" in s ? k(`run:k:${s.campaignId}`) : k(`run:c:${s.customerId}`));
const stopKey = (s: StopScope) =>
  "campaignId" in s
    ? k(`stop:k:${s.campaignId}`)
    : k(s.topicId ? `stop:c:${s.customerId}:${s.topicId}` : s.marketing ? `stop:c:${s.customerId}:marketing` : `stop:c:${s.customerId}`);

const seed = () => randomBytes(6).toString("hex");
// Members name one admission: this process's random prefix and a counter (no random bytes per message).
const processTag = seed();
let admissions = 0;

/** The current generation; read it before the consent read that admissions will rely on. */
export async function gateEpoch(): Promise<string> {
  return (await runScript(GEN, [genKey()], [seed()])) as string;
}

// Hand-offs admitted by this process and not done yet: member -> run keys. Finished ones are
// unregistered with the next admission group, or after FLUSH_MS when none comes; re-registered if
// Redis was reset meanwhile.
const inFlight = new Map<string, string[]>();
let doneQueue: Array<[string, string[]]> = [];
let flushing: NodeJS.Timeout | null = null;
let heartbeat: NodeJS.Timeout | null = null;
let knownGen = "";

interface Asking {
  member: string;
  stops: string[];
  runs: string[];
  resolve(code: number | null): void;
}
// Admissions asked for in this turn of the event loop, by epoch: sent together on the next turn.
let asking = new Map<string, Asking[]>();
let askScheduled = false;

function scopesOf(s: HandoffSubject): { stops: string[]; runs: string[] } {
  const c = { customerId: s.customerId };
  const stops = [stopKey(c), stopKey({ ...c, topicId: s.topicId })];
  if (s.marketing) stops.push(stopKey({ ...c, marketing: true }));
  const runs = [runKey(c)];
  if (s.campaignId) {
    stops.push(stopKey({ campaignId: s.campaignId }));
    runs.push(runKey({ campaignId: s.campaignId }));
  }
  return { stops, runs };
}

/**
 * Call before handing the message to SMTP (at most USE_WITHIN_MS before), with the epoch read before
 * the consent read the decision relies on. "admitted": send now, then call the returned done() once SMTP answered. Any
 * other answer: do not send (stopped: a scope is marked; stale: Redis was reset since the read;
 * unavailable: Redis did not answer). Hand-offs asking within one turn of the event loop share a
 * round trip; each is still checked and registered atomically (the proof does not change).
 */
export async function admitHandoff(s: HandoffSubject, epoch: string): Promise<{ admission: Admission; done: () => void; at: number }> {
  const at = Date.now();
  const { stops, runs } = scopesOf(s);
  const member = `${s.messageId}.${processTag}${(admissions++).toString(36)}`;
  const code = await new Promise<number | null>((resolve) => {
    const group = asking.get(epoch);
    if (group) group.push({ member, stops, runs, resolve });
    else asking.set(epoch, [{ member, stops, runs, resolve }]);
    if (!askScheduled) {
      askScheduled = true;
      setImmediate(sendAsking);
    }
  });
  if (code === null) return { admission: "unavailable", done: () => undefined, at };
  if (code !== 0) return { admission: code === 1 ? "stopped" : "stale", done: () => undefined, at };
  knownGen = epoch;
  inFlight.set(member, runs);
  heartbeat ??= setInterval(() => void reregister(), HEARTBEAT_MS).unref();
  let once = false;
  return {
    admission: "admitted",
    at,
    done: () => {
      if (once) return;
      once = true;
      inFlight.delete(member);
      doneQueue.push([member, runs]);
      flushing ??= setTimeout(flushDone, FLUSH_MS);
    },
  };
}

function sendAsking(): void {
  askScheduled = false;
  const groups = asking;
  asking = new Map();
  for (const [epoch, group] of groups) void admitGroup(epoch, group);
}

async function admitGroup(epoch: string, group: Asking[]): Promise<void> {
  const finished = takeFinished();
  const keys = [genKey()];
  const args: Array<string | number> = [epoch, LEASE_MS, group.length];
  for (const x of group) {
    keys.push(...x.stops, ...x.runs);
    args.push(x.member, x.stops.length, x.runs.length);
  }
  for (const [member, runs] of finished) {
    for (const key of runs) {
      keys.push(key);
      args.push(member);
    }
  }
  try {
    const codes = (await runScript(ADMIT, keys, args)) as number[];
    group.forEach((x, i) => x.resolve(codes[i]));
  } catch {
    group.forEach((x) => x.resolve(null));
    // A failed removal only makes a stop wait for the lease: never unsafe.
  }
}

function takeFinished(): Array<[string, string[]]> {
  if (flushing) clearTimeout(flushing);
  flushing = null;
  const batch = doneQueue;
  doneQueue = [];
  if (inFlight.size === 0 && heartbeat) {
    clearInterval(heartbeat);
    heartbeat = null;
  }
  return batch;
}

function flushDone(): void {
  const batch = takeFinished();
  if (batch.length === 0) return;
  const keys: string[] = [];
  const members: string[] = [];
  for (const [member, runs] of batch) {
    for (const key of runs) {
      keys.push(key);
      members.push(member);
    }
  }
  runScript(UNREGISTER, keys, members).catch((err: Error) => logger.warn({ err: err.message }, "hand-off gate: could not unregister finished hand-offs"));
}

async function reregister(): Promise<void> {
  if (inFlight.size === 0) return;
  const entries = [...inFlight].flatMap(([member, runs]) => runs.map((key) => [key, member] as const));
  try {
    const g = (await runScript(REREGISTER, [genKey(), ...entries.map((e) => e[0])], [knownGen, LEASE_MS, ...entries.map((e) => e[1])])) as string | null;
    if (g) knownGen = g;
    else await gateEpoch(); // no generation at all yet: create one, re-register on the next beat
  } catch {
    /* Redis away: stops fail meanwhile (503), nothing to do here */
  }
}

const unavailable = (why: string) => new AppError("unavailable", why);

/**
 * Marks the scope stopped (for ttlMs; 0 = until liftStop) and waits up to waitMs for the hand-offs
 * admitted before the mark to finish. When it returns, nothing in the scope can reach SMTP any more
 * (until the mark expires or is lifted). Throws AppError("unavailable") when Redis cannot be reached
 * or the wait did not end in time: the caller must not report the stop as done.
 */
export async function stopHandoffs(scope: StopScope, opts: { ttlMs?: number; waitMs?: number } = {}): Promise<void> {
  const ttl = opts.ttlMs ?? defaultStopTtlMs();
  const until = Date.now() + (opts.waitMs ?? config.HANDOFF_STOP_WAIT_MS);
  const keys = [genKey(), stopKey(scope), runKey(scope)];
  try {
    for (;;) {
      const [gen, now, members] = (await runScript(STOP, keys, [seed(), ttl, seed()])) as [string, number, string[]];
      // A generation younger than the grace: workers may not have re-registered their hand-offs yet.
      const age = now - Number(gen.split(".")[1]);
      if (age < GRACE_MS) {
        await sleepUntil(Math.min(until, Date.now() + GRACE_MS - age));
        if (Date.now() >= until) throw unavailable("Stopping in-flight messages took too long; try again");
        continue;
      }
      for (let left = members.length; left > 0; ) {
        if (Date.now() >= until) throw unavailable("Messages already handed over are still in flight; try again shortly");
        await sleepUntil(Math.min(until, Date.now() + 10));
        left = (await runScript(PENDING, [keys[0], keys[2]], [gen, ...members])) as number;
        if (left < 0) break; // Redis reset while waiting: start over
      }
      if ((await redis().get(keys[0])) === gen) return;
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw unavailable("The delivery fence (Redis) is not reachable; try again shortly");
  }
}

/** Removes a stop mark (a campaign resumed, a customer opted in again). */
export async function liftStop(scope: StopScope): Promise<void> {
  await redis().del(stopKey(scope));
}

/**
 * The scope's current mark (each stop writes its own), or null. Read it while holding the lock of
 * the state a later lift relies on, and lift with liftStopIf: a stop made since keeps its mark.
 */
export async function stopMark(scope: StopScope): Promise<string | null> {
  return redis().get(stopKey(scope));
}

/** Removes the scope's mark only if it is still `mark` (see stopMark). */
export async function liftStopIf(scope: StopScope, mark: string | null): Promise<void> {
  if (mark === null) return;
  await runScript(LIFT_IF, [stopKey(scope)], [mark]);
}

/**
 * A mark must outlive every hand-off whose consent read predates the stop: such a hand-off uses a
 * claim taken before the stop, and no claim is used after maxClaimAge (half the claim timeout).
 */
export const defaultStopTtlMs = () => config.SEND_CLAIM_TIMEOUT_MS + MAX_HANDOFF_MS;

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
