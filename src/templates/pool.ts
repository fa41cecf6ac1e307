// A small pool of worker threads for template preparation (prepare.ts): CSS inlining and compiling
// cost seconds on hostile input, and API and workers share one event loop. Threads start on first
// use, or one at start-up (warm); each job has a time budget, past which its thread is terminated
// (and replaced on demand) and the job fails with TemplateTooComplexError. Idle threads do not keep
// the process alive; closeTemplatePool() ends them on shutdown.
import { Worker } from "node:worker_threads";
import { config } from "../platform/config.ts";
import { TemplateCompileError, TemplateTooComplexError } from "./errors.ts";
import type { PreparedVersion } from "./prepare.ts";
import type { SerialisedError, WorkerReply } from "./prepare.worker.ts";
import type { TemplateParts } from "./validate.ts";

// From the sources (tsx) the thread registers tsx first (the .mjs); from the build (dist/, plain
// JavaScript) it runs the compiled entry directly.
const entry = new URL(import.meta.url.endsWith(".js") ? "./prepare.worker.js" : "./prepare.worker.mjs", import.meta.url);
/** Heap per thread: a job that needs more is stopped like a slow one. */
const HEAP_MB = 512;

interface Job {
  id: number;
  parts: TemplateParts;
  timeoutMs: number;
  resolve(v: PreparedVersion): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** Settles when the thread has loaded (or failed first): what warm() waits for. */
  up: Promise<void>;
  settleUp: (err?: Error) => void;
  job: Job | null;
  timer?: NodeJS.Timeout;
}

function revive(e: SerialisedError): Error {
  if (e.kind === "compile") return new TemplateCompileError(e.message, e.position!);
  if (e.kind === "complex") return new TemplateTooComplexError(e.message, e.part);
  return new Error(`template preparation failed: ${e.message}`);
}

export class PreparePool {
  private slots: Slot[] = [];
  private queue: Job[] = [];
  private seq = 0;

  constructor(private readonly opts: { threads: number; timeoutMs: number }) {}

  /** `timeoutMs`: this job's budget, instead of the pool's. */
  run(parts: TemplateParts, timeoutMs = this.opts.timeoutMs): Promise<PreparedVersion> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: ++this.seq, parts, timeoutMs, resolve, reject });
      this.pump();
    });
  }

  /** Terminates every thread; queued and running jobs fail. The pool starts again on next use. */
  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    const stopped = new Error("template preparation stopped: shutting down");
    for (const job of [...this.queue.splice(0), ...slots.flatMap((s) => (s.job ? [s.job] : []))]) job.reject(stopped);
    await Promise.all(slots.map((s) => this.drop(s)));
  }

  /**
   * Starts a thread now if there is none, so that the first job does not wait for one: a thread
   * loads juice, Handlebars and the checks (~0.5 s of CPU), which a worker would otherwise pay on
   * its first message of a new version and the API in its first preview or schedule, delaying it
   * and competing with the deliveries already under way. Like any idle thread, it does not keep the
   * process alive. Resolves once the thread has loaded, so that a process announces itself started
   * after that work, not during its first requests; rejects if it could not start (jobs then start
   * a thread on demand, as without warm).
   */
  warm(): Promise<void> {
    if (this.slots.length === 0) this.spawn();
    return this.slots[0].up;
  }

  get threads(): number {
    return this.slots.length;
  }

  /** Threads that have loaded and can take a job. */
  get readyThreads(): number {
    return this.slots.filter((s) => s.ready).length;
  }

  private pump(): void {
    for (let idle = this.idle(); idle && this.queue.length; idle = this.idle()) this.start(idle, this.queue.shift()!);
    // Threads for the jobs still waiting, beyond those already starting, within the pool size.
    let starting = this.slots.filter((s) => !s.ready).length;
    while (this.slots.length < this.opts.threads && starting < this.queue.length) {
      this.spawn();
      starting++;
    }
  }

  private idle(): Slot | undefined {
    return this.slots.find((s) => s.ready && !s.job);
  }

  private spawn(): void {
    const worker = new Worker(entry, { resourceLimits: { maxOldGenerationSizeMb: HEAP_MB } });
    let settleUp: (err?: Error) => void = () => undefined;
    const up = new Promise<void>((resolve, reject) => {
      settleUp = (err) => (err ? reject(err) : resolve());
    });
    up.catch(() => undefined); // nobody need wait for it
    const slot: Slot = { worker, ready: false, job: null, up, settleUp };
    this.slots.push(slot);
    worker.on("message", (m: WorkerReply) => this.reply(slot, m));
    worker.on("error", (err) => this.fail(slot, err));
    worker.on("exit", () => this.fail(slot, new Error("template preparation thread exited")));
  }

  private start(slot: Slot, job: Job): void {
    slot.job = job;
    slot.worker.ref();
    slot.timer = setTimeout(() => {
      this.fail(slot, new TemplateTooComplexError(`The template is too complex: preparing it took more than ${job.timeoutMs / 1000} s`));
    }, job.timeoutMs);
    slot.worker.postMessage({ id: job.id, parts: job.parts });
  }

  private reply(slot: Slot, m: WorkerReply): void {
    if ("ready" in m) {
      slot.ready = true;
      slot.settleUp();
      slot.worker.unref();
    } else if (slot.job?.id === m.id) {
      const job = slot.job;
      clearTimeout(slot.timer);
      slot.job = null;
      slot.worker.unref();
      if (m.ok) job.resolve(m.value);
      else job.reject(revive(m.error));
    }
    this.pump();
  }

  /** The thread is gone or must go: its job fails; a thread that never started fails the queue. */
  private fail(slot: Slot, err: Error): void {
    if (!this.slots.includes(slot)) return;
    this.slots.splice(this.slots.indexOf(slot), 1);
    clearTimeout(slot.timer);
    const oom = (err as { code?: string }).code === "ERR_WORKER_OUT_OF_MEMORY";
    const cause = oom ? new TemplateTooComplexError(`The template is too complex: preparing it needed more than ${HEAP_MB} MB`) : err;
    slot.settleUp(cause); // no-op once it loaded
    if (slot.job) slot.job.reject(cause);
    else if (!slot.ready) for (const job of this.queue.splice(0)) job.reject(cause);
    void this.drop(slot);
    this.pump();
  }

  private async drop(slot: Slot): Promise<void> {
    clearTimeout(slot.timer);
    slot.worker.removeAllListeners();
    slot.worker.on("error", () => undefined);
    await slot.worker.terminate();
  }
}

let pool: PreparePool | null = null;

/** The process's pool, created on first use from TEMPLATE_PREPARE_THREADS and _TIMEOUT_MS. */
export function preparePool(): PreparePool {
  pool ??= new PreparePool({ threads: config.TEMPLATE_PREPARE_THREADS, timeoutMs: config.TEMPLATE_PREPARE_TIMEOUT_MS });
  return pool;
}

export async function closeTemplatePool(): Promise<void> {
  await pool?.close();
}
