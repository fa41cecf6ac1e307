// A CPU and size budget per rendered part. Templates are written by marketers, data arrives with
// each send (up to 256 KB), and a render is synchronous: without a bound, three nested {{#each}}
// over a 200-element list (8 million iterations) or a recursive inline partial blocks the event
// loop for seconds to minutes. What multiplies work is counted:
// - steps: {{#each}} iterations and partial calls (loops and recursion);
// - value characters: straight-line code runs each tag once, but one tag may print a 256 KB value
//   and escaping (or a helper, or turning a list into text) costs per character: 20,000 copies of
//   {{data.big}} in a 256 KB template took seconds and hundreds of MB before this;
// - output: per part, per loop and per partial call.
//
// Rendering is synchronous and never re-entrant, so module-level counters, reset by render.ts
// before each part, are exact within a process.
import type Handlebars from "handlebars";

export const RENDER_LIMITS = {
  /** {{#each}} iterations plus partial calls, per rendered part. */
  steps: 20_000,
  /** Characters of output per rendered part (and per loop or partial on the way there). */
  outputChars: 2 * 1024 * 1024,
  /** Characters of values escaped into HTML, converted to text or walked by helpers, per part. */
  valueChars: 8 * 1024 * 1024,
} as const;

const MB = 1024 * 1024;
const messages = {
  steps: `the template exceeded its iteration budget (${RENDER_LIMITS.steps.toLocaleString("en")} loop iterations and partial calls per render)`,
  output: `the rendered output exceeded ${RENDER_LIMITS.outputChars / MB} MB`,
  values: `the template exceeded its text budget (${RENDER_LIMITS.valueChars / MB} MB of values escaped or transformed per render)`,
};

/** Thrown inside Handlebars; render.ts turns it into a TemplateRenderError naming the part. */
export class RenderBudgetExceeded extends Error {
  constructor(readonly what: keyof typeof messages) {
    super(messages[what]);
    this.name = "RenderBudgetExceeded";
  }
}

let steps = 0;
let valueChars = 0;

export function resetRenderBudget(): void {
  steps = 0;
  valueChars = 0;
}

function spendSteps(n: number): void {
  if ((steps += n) > RENDER_LIMITS.steps) throw new RenderBudgetExceeded("steps");
}

/** For helpers that walk a string (case changes, comparisons, JSON): charge what they process. */
export function spendChars(n: number): void {
  if ((valueChars += n) > RENDER_LIMITS.valueChars) throw new RenderBudgetExceeded("values");
}

export function checkOutput(s: unknown): void {
  if (typeof s === "string" && s.length > RENDER_LIMITS.outputChars) throw new RenderBudgetExceeded("output");
}

type Program = (context: unknown, options?: unknown) => string;
type Helper = (this: unknown, context: unknown, options?: { fn?: Program }) => unknown;

/**
 * `each` with every iteration counted and its output bounded. The original helper still iterates:
 * arrays, iterables, objects, @index/@key/@first/@last and block params behave as before. Sections
 * over a list ({{#data.items}}) come here too: Handlebars hands them to the registered `each`.
 */
function budgetedEach(each: Helper): Helper {
  return function (this: unknown, context, options) {
    const fn = options?.fn;
    if (Array.isArray(context)) {
      // The common case, charged up front: no wrapper around every iteration (the hot path), and a
      // list too long for the budget fails before its first iteration.
      spendSteps(context.length);
    } else if (typeof fn === "function") {
      // Objects, iterables, lambdas: counted as they iterate.
      options!.fn = (ctx, opts) => {
        spendSteps(1);
        return fn(ctx, opts);
      };
    }
    // Misuse ({{#each}} without a list, {{each x}} without a block) gets the original's own error.
    const out = each.call(this, context, options);
    checkOutput(out);
    return out;
  };
}

type InvokePartial = (this: unknown, partial: unknown, context: unknown, options: unknown) => unknown;

/** Partial calls count as steps: an inline partial that calls itself twice is exponential. */
function budgetedInvokePartial(invoke: InvokePartial): InvokePartial {
  return function (this: unknown, partial, context, options) {
    spendSteps(1);
    const out = invoke.call(this, partial, context, options);
    checkOutput(out);
    return out;
  };
}

/** {{value}} in HTML: escaping walks the value (a list is joined first), so its length is charged. */
function budgetedEscape(escape: (v: unknown) => string): (v: unknown) => string {
  return (v) => {
    const out = escape(v);
    spendChars(out.length);
    return out;
  };
}

/**
 * Unescaped output ({{{raw}}}, subjects and text parts, block results): appending a string is
 * constant time, but anything else is converted first (a 50,000-element list joins into 100 KB),
 * so only conversions are charged. `"" + v` is the conversion Handlebars' own `buffer += v` does.
 */
function appendValue(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "";
  const s = "" + (v as string);
  spendChars(s.length);
  return s;
}

type Container = { escapeExpression: (v: unknown) => string; rapportAppend?: typeof appendValue };
type Main = (this: unknown, container: Container, ...rest: unknown[]) => string;
type Compiler = { popStack(): unknown; aliasable(name: string): unknown; appendToBuffer(source: unknown[]): unknown; pushSource(source: unknown): void };

/**
 * Installs the budget in an isolated Handlebars environment (never the global one):
 * - `each` and env.VM.invokePartial (the runtime calls it through env.VM so that it can be
 *   overridden; VM is the module shared with the global instance, so this env gets a copy);
 * - a JavaScriptCompiler subclass (Handlebars' API for changing generated code, covered by its own
 *   "javascript-compiler api" tests) whose raw appends go through `container.rapportAppend`;
 * - env.template, through which every compiled template is built: the runtime creates one
 *   container per template and passes it to the template's main function as its first argument,
 *   so the first call adds rapportAppend and swaps in the counting escapeExpression, once.
 */
export function installRenderBudget(env: typeof Handlebars): void {
  env.registerHelper("each", budgetedEach(env.helpers.each as Helper));

  const e = env as unknown as { VM: { invokePartial: InvokePartial }; JavaScriptCompiler: new () => Compiler; template: (spec: { main: Main }) => unknown };
  e.VM = { ...e.VM, invokePartial: budgetedInvokePartial(e.VM.invokePartial) };

  const Base = e.JavaScriptCompiler;
  function BudgetCompiler(this: Compiler) {
    Base.call(this);
  }
  BudgetCompiler.prototype = Object.create(Base.prototype, {
    // Child programs ({{#if}} bodies, ...) are compiled by `new this.compiler()`: ours too.
    compiler: { value: BudgetCompiler, writable: true },
    append: {
      value(this: Compiler) {
        this.pushSource(this.appendToBuffer([this.aliasable("container.rapportAppend"), "(", this.popStack(), ")"]));
      },
      writable: true,
    },
  });
  e.JavaScriptCompiler = BudgetCompiler as unknown as new () => Compiler;

  const template = e.template.bind(env);
  e.template = (spec) => {
    const main = spec.main;
    let ready = false;
    spec.main = function (container, depth0, helpers, partials, data, blockParams, depths) {
      if (!ready) {
        container.escapeExpression = budgetedEscape(container.escapeExpression);
        container.rapportAppend = appendValue;
        ready = true;
      }
      return main.call(this, container, depth0, helpers, partials, data, blockParams, depths);
    };
    return template(spec);
  };
}
