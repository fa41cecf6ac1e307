// Delivery batches built off the event loop. A worker process's one loop claims, checks consent,
// talks SMTP and writes outcomes; rendering and composing (~150-190 µs per message of an 8.8 KB
// campaign email, bench/README.md) would fill it first. With DELIVERY_BUILD_THREADS > 0 each batch
// is built in a thread (the least busy one) and its MIME bytes are moved back, not copied; with 0 it
// is built here. Either way buildMessage does the work, so the bytes are the same.
//
// A thread that fails (crash, out of memory, BUILD_TIMEOUT_MS) fails the batches it held, whose
// claims then go back to the queue like any failed batch; the next batch starts a new thread. Idle
// threads do not keep the process alive; closeBuildThreads() ends them on shutdown.
import { Worker } from "node:worker_threads";
import { config } from "../../platform/config.ts";
import { secretKeys } from "../../platform/secrets.ts";
import { preparedOf } from "../../templates/compiled.ts";
import type { RenderTemplateVersion } from "../../templates/render.types.ts";
import { buildFrom, type BuildInput, type Built } from "./build.ts";
import type { BuildJob, BuildReply } from "./build.worker.ts";

const entry = new URL(import.meta.url.endsWith(".js") ? "./build.worker.js" : "./build.worker.mjs", import.meta.url);
/** A batch of 100 takes ~20 ms; this only catches a thread that stopped answering. */
const BUILD_TIMEOUT_MS = 60_000;
/** Versions a thread is sent at most before it starts over (its compiled-version LRU holds 1,000). */
const MAX_SENT_VERSIONS = 500;

/**
 * The thread's young generation. V8's default let a worker process's peak RSS grow by 60-65 MB with
 * the thread (campaign of 10,000: 224-227 -> 281-293 MB); at 8 MB it grows by ~35 (257-266 MB at 4
 * or 8) with no measurable cost in CPU or rate (bench/README.md, eighth pass).
 */
const YOUNG_MB = 8;

interface Pending {
  resolve(r: Built[]): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

class BuildThread {
  private readonly worker = new Worker(entry, { workerData: { keys: secretKeys() }, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } });
  private readonly sent = new Set<string>();
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private settleUp: (err?: Error) => void = () => undefined;
  /** Settles when the thread has loaded its modules (or failed first): what warm waits for. */
  readonly up = new Promise<void>((resolve, reject) => {
    this.settleUp = (err) => (err ? reject(err) : resolve());
  });
  private dead = false;

  constructor(private readonly onDead: (t: BuildThread) => void) {
    this.up.catch(() => undefined); // nobody need wait for it
    this.worker.unref();
    this.worker.on("message", (m: BuildReply | { ready: true }) => ("ready" in m ? this.settleUp() : this.reply(m)));
    this.worker.on("error", (err) => void this.die(new Error(`build thread failed: ${err.message}`)));
    this.worker.on("exit", (code) => void this.die(new Error(`build thread exited (${code})`)));
  }

  get load(): number {
    return this.pending.size;
  }

  build(inputs: BuildInput[], versions: Map<string, RenderTemplateVersion>): Promise<Built[]> {
    let reset = false;
    if (this.sent.size > MAX_SENT_VERSIONS) {
      this.sent.clear();
      reset = true;
    }
    const give: BuildJob["versions"] = [];
    for (const id of new Set(inputs.map((b) => b.templateVersionId))) {
      const template = versions.get(id);
      const prepared = template && preparedOf(template);
      if (!template || !prepared || this.sent.has(id)) continue;
      give.push({ template, prepared });
      this.sent.add(id);
    }
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => void this.die(new Error(`build thread gave no answer in ${BUILD_TIMEOUT_MS / 1000} s`)), BUILD_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.worker.ref();
      this.worker.postMessage({ id, reset, versions: give, inputs } satisfies BuildJob);
    });
  }

  private reply(m: BuildReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    if (this.pending.size === 0) this.worker.unref();
    p.resolve(m.results.map((r) => (r.ok ? { ...r, raw: Buffer.from(r.raw.buffer, r.raw.byteOffset, r.raw.byteLength) } : r)));
  }

  /** Fails what it held and goes; the pool starts another on the next batch. */
  die(err: Error): Promise<unknown> {
    if (this.dead) return Promise.resolve();
    this.dead = true;
    this.settleUp(err); // no-op once it loaded
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    this.onDead(this);
    this.worker.removeAllListeners();
    this.worker.on("error", () => undefined);
    return this.worker.terminate();
  }
}

let threads: BuildThread[] = [];

function leastBusy(): BuildThread {
  const forget = (t: BuildThread) => (threads = threads.filter((x) => x !== t));
  if (threads.length < config.DELIVERY_BUILD_THREADS) {
    const idle = threads.find((t) => t.load === 0);
    if (idle) return idle;
    const t = new BuildThread(forget);
    threads.push(t);
    return t;
  }
  return threads.reduce((a, b) => (b.load < a.load ? b : a));
}

/**
 * Starts a build thread now and resolves once it has loaded (Handlebars, the layout, the composer:
 * ~0.5 s of CPU through tsx, less from the build), so that the first batch of a worker does not wait
 * for it. Rejects if it could not start; the first batch then starts one.
 */
export function warmBuildThreads(): Promise<void> {
  if (config.DELIVERY_BUILD_THREADS === 0) return Promise.resolve();
  return (threads[0] ?? leastBusy()).up;
}

/**
 * Builds each input with its template version (prepared beforehand: prepareTemplates), in order.
 * Rejects only when a thread failed; a message that cannot be rendered is a `{ ok: false }` result.
 */
export function buildMessages(inputs: BuildInput[], versions: Map<string, RenderTemplateVersion>): Promise<Built[]> {
  if (inputs.length === 0) return Promise.resolve([]);
  if (config.DELIVERY_BUILD_THREADS === 0) {
    return Promise.resolve(inputs.map((b) => buildFrom(versions, b)));
  }
  return leastBusy().build(inputs, versions);
}

/** Ends every build thread (shutdown); batches in flight fail and their claims go back to the queue. */
export async function closeBuildThreads(): Promise<void> {
  const all = threads;
  threads = [];
  await Promise.all(all.map((t) => t.die(new Error("build threads stopped: shutting down"))));
}

/** Build threads running in this process (tests). */
export const buildThreadCount = (): number => threads.length;
