// Compiled template versions on the main thread, cached per version id (versions are immutable, so
// an entry never goes stale; the LRU only bounds memory). A miss is prepared in the worker pool
// (pool.ts, prepare.ts) and awaited; what is left here is cheap: turning precompiled JavaScript into
// functions, once per variant. Callers prepare before the synchronous renderMessage, in a batch:
// one preparation per distinct version, shared by concurrent callers.
import { hbs } from "./handlebars-env.ts";
import { preparePool } from "./pool.ts";
import type { PreparedVariant, PreparedVersion } from "./prepare.ts";
import type { RenderTemplateVersion } from "./render.types.ts";
import type { LintIssue, TemplateParts } from "./validate.ts";

export interface CompiledVariant {
  /** The persona key of the variant used, null for the default. */
  variant: string | null;
  parts: PreparedVariant["parts"];
  subject: HandlebarsTemplateDelegate;
  html: HandlebarsTemplateDelegate;
  /** null: convert each rendered HTML to text (the derived template could not be trusted). */
  text: HandlebarsTemplateDelegate | null;
  textDerived: boolean;
}

export interface CompiledVersion {
  warnings: LintIssue[];
  prepared: PreparedVersion;
  /** Functions built so far, by spec key and by variant (persona key, "" for the default). */
  fns: Map<string, HandlebarsTemplateDelegate>;
  variants: Map<string, CompiledVariant>;
}

/** Least-recently-used map: a Map iterates in insertion order, so the first key is the oldest. */
export class Lru<K, V> {
  private readonly m = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(k: K): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: K, v: V): void {
    this.m.delete(k);
    this.m.set(k, v);
    if (this.m.size > this.max) this.m.delete(this.m.keys().next().value as K);
  }
  get size(): number {
    return this.m.size;
  }
}

const cache = new Lru<string, CompiledVersion>(1000);
/** Also by the very object prepared: a caller holding it never loses its entry to the LRU. */
const pinned = new WeakMap<RenderTemplateVersion, CompiledVersion>();
const inflight = new Map<string, Promise<CompiledVersion>>();

/** Checks and prepares a version's parts in the pool (save path). Throws a 422 TemplateError. */
export const prepareParts = (parts: TemplateParts): Promise<PreparedVersion> => preparePool().run(parts);

/** Keeps what a save prepared, so that the first preview or send of the version does not redo it. */
export function rememberPrepared(versionId: string, prepared: PreparedVersion): CompiledVersion {
  const v: CompiledVersion = { warnings: prepared.warnings, prepared, fns: new Map(), variants: new Map() };
  cache.set(versionId, v);
  return v;
}

/** The compiled version, prepared in the pool on a miss. Throws TemplateCompileError / TemplateTooComplexError. */
export async function prepareTemplate(t: RenderTemplateVersion): Promise<CompiledVersion> {
  let v = pinned.get(t) ?? cache.get(t.id);
  if (!v) {
    let pending = inflight.get(t.id);
    if (!pending) {
      pending = prepareParts(t).then((p) => rememberPrepared(t.id, p));
      inflight.set(t.id, pending);
      void pending.then(
        () => inflight.delete(t.id),
        () => inflight.delete(t.id),
      );
    }
    v = await pending;
  }
  pinned.set(t, v);
  return v;
}

/** Prepares each distinct version once; returns the errors of those that cannot be, by version id. */
export async function prepareTemplates(ts: Iterable<RenderTemplateVersion>): Promise<Map<string, Error>> {
  const failed = new Map<string, Error>();
  await Promise.all(
    [...new Map([...ts].map((t) => [t.id, t])).values()].map((t) =>
      prepareTemplate(t).catch((err: Error) => void failed.set(t.id, err)),
    ),
  );
  return failed;
}

/** What prepareTemplate(s) made of this version (for a worker thread that renders it), if anything. */
export const preparedOf = (t: RenderTemplateVersion): PreparedVersion | undefined => (pinned.get(t) ?? cache.get(t.id))?.prepared;

function fn(v: CompiledVersion, key: string): HandlebarsTemplateDelegate {
  let f = v.fns.get(key);
  if (!f) {
    // Precompiled by Handlebars in the pool: the same code hbs.compile would build and evaluate here.
    f = hbs.template(new Function(`return (${v.prepared.specs[key]});`)()) as HandlebarsTemplateDelegate;
    v.fns.set(key, f);
  }
  return f;
}

/** Compiled parts for this version and persona. The version must have been prepared (prepareTemplate). */
export function compiledFor(t: RenderTemplateVersion, personaKey: string | null): CompiledVariant {
  const v = pinned.get(t) ?? cache.get(t.id);
  if (!v) throw new Error(`template version ${t.id} was rendered before it was prepared`);
  const key = personaKey !== null && t.variants.some((x) => x.persona === personaKey) ? personaKey : "";
  let c = v.variants.get(key);
  if (!c) {
    const p = v.prepared.variants.find((x) => (x.variant ?? "") === key) ?? v.prepared.variants[0];
    c = { variant: p.variant, parts: p.parts, subject: fn(v, p.subject), html: fn(v, p.html), text: p.text ? fn(v, p.text) : null, textDerived: p.textDerived };
    v.variants.set(key, c);
  }
  return c;
}
