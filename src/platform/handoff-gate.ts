// The hand-off gate: an exact fence between "stop sending X" (a consent withdrawal, an erasure, a
// paused campaign) and the SMTP hand-off, shared by every process through Redis. Protocol and proof:
// src/modules/messages/CONTEXT.md ("Exact withdrawal").
//   stop:  mark the scope, then wait (bounded) until every hand-off admitted before the mark is done.
//   admit: one Lua call per message right before nodemailer gets it: refused when a scope of the
//          message is marked, else registered as in flight (until done(), or its lease ends).
// Redis is the fence only; PostgreSQL stays the truth. A refused message is given back (queued), and
// its next claim reads the durable state. Fail closed: no Redis, no admission; no Redis, no stop.
import { randomBytes } from "node:crypto";
import { config } from "./config.ts";
import { AppError } from "./errors.ts";
import { logger } from "./logger.ts";
import { MAX_HANDOFF_MS } from "./mailer.ts";
import { redis, runScript } from "./redis.ts";

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
const FLUSH_MS = 2;

const k = (s: string) => `${config.QUEUE_PREFIX}:gate:${s}`;
const genKey = () => k("gen");
const runKey = (s: StopScope) => ("campaignId" in s ? k(`run:k:${s.campaignId}`) : k(`run:c:${s.customerId}`));
const stopKey = (s: StopScope) =>
  "campaignId" in s
    ? k(`stop:k:${s.campaignId}`)
    : k(s.topicId ? `stop:c:${s.customerId}:${s.topicId}` : s.marketing ? `stop:c:${s.customerId}:marketing` : `stop:c:${s.customerId}`);

// The generation ("random.createdMs") names Redis' current memory: a reset (restart with nothing
// kept) loses marks and registrations, and a new generation tells everyone so.
const GEN = `
local g = redis.call('GET', KEYS[1])
if not g then
  local t = redis.call('TIME')
  g = ARGV[1] .. '.' .. (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
  redis.call('SET', KEYS[1], g)
end
return g`;

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// KEYS: gen, stop keys (ARGV[3] of them), run keys. ARGV: epoch, member, nStop, lease ms.
// 0 admitted, 1 stopped, 2 stale (the consent read was made under another generation).
const ADMIT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 2 end
local n = tonumber(ARGV[3])
if redis.call('EXISTS', unpack(KEYS, 2, n + 1)) > 0 then return 1 end
${NOW}
local lease = tonumber(ARGV[4])
for i = n + 2, #KEYS do
  redis.call('ZADD', KEYS[i], now + lease, ARGV[2])
  redis.call('PEXPIRE', KEYS[i], lease)
end
return 0`;

// KEYS: gen, stop key, run key. ARGV: fresh generation seed, ttl ms (0: until lifted), mark value.
// Every stop writes a value of its own (keeping the longer life), so that a lift that read an older
// mark cannot remove it (liftStopIf). Returns {generation, now, members in flight}.
const STOP = `
${GEN.replace("return g", "")}
local ttl = tonumber(ARGV[2])
local left = redis.call('PTTL', KEYS[2])
if ttl == 0 or left == -1 then redis.call('SET', KEYS[2], ARGV[3])
elseif left < ttl then redis.call('SET', KEYS[2], ARGV[3], 'PX', ttl)
else redis.call('SET', KEYS[2], ARGV[3], 'PX', left) end
${NOW}
return {g, now, redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. now, '+inf')}`;

// KEYS: gen, run key. ARGV: generation, members. -1 when the generation changed, else how many of
// the members are still in flight.
const PENDING = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
${NOW}
local n = 0
for i = 2, #ARGV do
  local s = redis.call('ZSCORE', KEYS[2], ARGV[i])
  if s and tonumber(s) > now then n = n + 1 end
end
return n`;

// KEYS: gen, then run keys. ARGV: known generation, lease ms, then for each run key its member.
// Re-registers this process's hand-offs in flight when the generation changed (Redis was reset).
const REREGISTER = `
local g = redis.call('GET', KEYS[1])
if g == ARGV[1] then return g end
if not g then return false end
${NOW}
local lease = tonumber(ARGV[2])
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], now + lease, ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i], lease)
end
return g`;

const seed = () => randomBytes(6).toString("hex");
// Members name one admission: this process's random prefix and a counter (no random bytes per message).
const processTag = seed();
let admissions = 0;

/** The current generation; read it before the consent read that admissions will rely on. */
export async function gateEpoch(): Promise<string> {
  return (await runScript(GEN, [genKey()], [seed()])) as string;
}

// Hand-offs admitted by this process and not done yet: member -> run keys. Removed from Redis in
// small groups (one round trip per group), re-registered if Redis was reset meanwhile.
const inFlight = new Map<string, string[]>();
let doneQueue: Array<[string, string[]]> = [];
let flushing: NodeJS.Timeout | null = null;
let heartbeat: NodeJS.Timeout | null = null;
let knownGen = "";

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
 * Call right before handing the message to SMTP, with the epoch read before the consent read the
 * decision relies on. "admitted": send now, then call the returned done() once SMTP answered. Any
 * other answer: do not send (stopped: a scope is marked; stale: Redis was reset since the read;
 * unavailable: Redis did not answer). One round trip.
 */
export async function admitHandoff(s: HandoffSubject, epoch: string): Promise<{ admission: Admission; done: () => void }> {
  const { stops, runs } = scopesOf(s);
  const member = `${s.messageId}.${processTag}${(admissions++).toString(36)}`;
  let r: number;
  try {
    r = (await runScript(ADMIT, [genKey(), ...stops, ...runs], [epoch, member, stops.length, MAX_HANDOFF_MS])) as number;
  } catch {
    return { admission: "unavailable", done: () => undefined };
  }
  if (r !== 0) return { admission: r === 1 ? "stopped" : "stale", done: () => undefined };
  knownGen = epoch;
  inFlight.set(member, runs);
  heartbeat ??= setInterval(() => void reregister(), HEARTBEAT_MS).unref();
  let once = false;
  return {
    admission: "admitted",
    done: () => {
      if (once) return;
      once = true;
      inFlight.delete(member);
      doneQueue.push([member, runs]);
      flushing ??= setTimeout(flushDone, FLUSH_MS);
    },
  };
}

function flushDone(): void {
  flushing = null;
  const batch = doneQueue;
  doneQueue = [];
  const p = redis().pipeline();
  for (const [member, runs] of batch) for (const key of runs) p.zrem(key, member);
  // A failed removal only makes a stop wait for the lease: never unsafe.
  p.exec().catch((err: Error) => logger.warn({ err: err.message }, "hand-off gate: could not unregister finished hand-offs"));
  if (inFlight.size === 0 && heartbeat) {
    clearInterval(heartbeat);
    heartbeat = null;
  }
}

async function reregister(): Promise<void> {
  if (inFlight.size === 0) return;
  const entries = [...inFlight].flatMap(([member, runs]) => runs.map((key) => [key, member] as const));
  try {
    const g = (await runScript(REREGISTER, [genKey(), ...entries.map((e) => e[0])], [knownGen, MAX_HANDOFF_MS, ...entries.map((e) => e[1])])) as string | null;
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

const LIFT_IF = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

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
