// Rapport's own Handlebars environment: isolated from the global instance, with only the vetted
// helpers and partials. Prototype access stays at Handlebars' safe default: we never pass
// allowProtoPropertiesByDefault / allowProtoMethodsByDefault, so `constructor`, `__proto__` and
// inherited members resolve to nothing, in templates and in data alike.
import Handlebars from "handlebars";
import { logger } from "../platform/logger.ts";
import { installRenderBudget } from "./budget.ts";
import { helpers } from "./helpers.ts";
import { partials } from "./layout.ts";
import { deriveTextSource } from "./text-from-html.ts";

export const hbs = Handlebars.create();

// `log` would let templates write to the server's console.
hbs.unregisterHelper("log");
hbs.registerHelper(helpers);

// Loops, partial calls, escaping and raw output are counted against a per-render budget, before
// anything is compiled (budget.ts).
installRenderBudget(hbs);

export const htmlCompileOptions: CompileOptions = { strict: false, preventIndent: true };
/** Subjects and text parts are not HTML: no escaping (a subject's line breaks are removed later). */
export const plainCompileOptions: CompileOptions = { strict: false, preventIndent: true, noEscape: true };

// Registered compiled, not as strings: a string partial called from a template that declares inline
// partials is compiled again on every render (Handlebars caches it in that render's partial scope).
for (const [name, src] of Object.entries(partials)) hbs.registerPartial(name, hbs.compile(src, htmlCompileOptions));

/** The same partials for text parts, passed at render time so that {{> button}} in text is text. */
export const textPartials: Record<string, HandlebarsTemplateDelegate> = Object.fromEntries(
  Object.entries(partials).map(([name, src]) => {
    const text = deriveTextSource(src);
    if (text === null) throw new Error(`the ${name} partial has no text form`);
    // Both partials are blocks (a table, a paragraph): on their own lines in text too.
    return [name, hbs.compile(`\n${text.trim()}\n`, plainCompileOptions)];
  }),
);

// Handlebars reports denied prototype lookups on its (process-wide) logger, straight to the console.
// Route them to our logger at debug level: they are expected when someone probes a template.
(Handlebars.logger as unknown as { log: (level: string, ...msg: unknown[]) => void }).log = (level, ...msg) =>
  logger.debug({ handlebars: level }, msg.map(String).join(" ").slice(0, 500));

export const BUILTIN_HELPERS = ["if", "unless", "each", "with", "lookup"];
export const knownHelpers = new Set([...BUILTIN_HELPERS, ...Object.keys(helpers)]);
export const knownPartials = new Set(Object.keys(partials));

