// Preparing a template version: everything costly and pure between its source and the functions
// that render it. Runs in a worker thread (pool.ts), never on the event loop: the caps on the work
// first (complexity.ts, one linear scan), then each part checked on its own (validate.ts: parse,
// lint, compile), then each distinct document: the layout around the html part, CSS inlined
// (juice), the text template derived from it, all compiled to JavaScript source (Handlebars
// precompile). The result is plain data, sent back to the main thread, which only turns the
// compiled sources into functions (compiled.ts).
import { htmlDocumentSource, textDocumentSource, variantSource, type TemplateSource } from "./compile.ts";
import { assertInlinable } from "./complexity.ts";
import { compileErrorFrom } from "./errors.ts";
import { hbs, htmlCompileOptions, plainCompileOptions } from "./handlebars-env.ts";
import { compose, htmlLayout } from "./layout.ts";
import { deriveTextSource } from "./text-from-html.ts";
import { checkPart, partsOf, type LintIssue, type TemplateParts } from "./validate.ts";

export interface PreparedVariant {
  /** The persona key of the variant, null for the default. */
  variant: string | null;
  /** Where each part comes from, for error messages: "html", "variants.1.subject", ... */
  parts: { subject: string; html: string; text: string | null };
  /** Keys into PreparedVersion.specs; text null: convert each rendered HTML to text. */
  subject: string;
  html: string;
  text: string | null;
  /** The text template was derived from the HTML template rather than written. */
  textDerived: boolean;
}

export interface PreparedVersion {
  warnings: LintIssue[];
  /** Precompiled Handlebars templates (JavaScript source), shared by the variants that use them. */
  specs: Record<string, string>;
  /** The default first, then one per persona variant. */
  variants: PreparedVariant[];
}

const precompile = (src: string, html: boolean) => hbs.precompile(src, html ? htmlCompileOptions : plainCompileOptions) as string;

/** Throws TemplateCompileError or TemplateTooComplexError (422) naming the part. */
export function prepareVersion(t: TemplateParts): PreparedVersion {
  const parts = partsOf(t);
  for (const p of parts) if (p.html) assertInlinable(compose(htmlLayout, p.src), p.part);

  const warnings: LintIssue[] = [];
  const specs: Record<string, string> = {};
  for (const p of parts) {
    const checked = checkPart(p);
    warnings.push(...checked.warnings);
    // A subject is used as it is: its own compiled form is the one rendered.
    if (!p.html && p.part.endsWith("subject")) specs[`subject:${p.part}`] = checked.spec;
  }

  const variants = t.variants ?? [];
  const source: TemplateSource = { subject: t.subject, html: t.html, text: t.text ?? null, variants };
  const out: PreparedVariant[] = [];
  // Each distinct document once: variants without their own html or text share the default's.
  for (const persona of [null, ...variants.map((v) => v.persona)]) {
    const src = variantSource(source, persona);
    const html = `html:${src.html.part}`;
    if (!(html in specs)) {
      let doc: string;
      try {
        doc = htmlDocumentSource(src.html.src);
        specs[html] = precompile(doc, true);
      } catch (err) {
        throw compileErrorFrom(err, src.html.part, { withinLayout: true });
      }
      const derived = derivedText(doc);
      if (derived !== null) specs[`derived:${src.html.part}`] = derived;
    }
    let text: string | null = null;
    if (src.text) {
      text = `text:${src.text.part}`;
      if (!(text in specs)) {
        try {
          specs[text] = precompile(textDocumentSource(src.text.src), false);
        } catch (err) {
          throw compileErrorFrom(err, src.text.part, { withinLayout: true });
        }
      }
    } else if (`derived:${src.html.part}` in specs) text = `derived:${src.html.part}`;
    out.push({
      variant: src.variant,
      parts: { subject: src.subject.part, html: src.html.part, text: src.text?.part ?? null },
      subject: `subject:${src.subject.part}`,
      html,
      text,
      textDerived: !src.text && text !== null,
    });
  }
  return { warnings, specs, variants: out };
}

/** The compiled text template derived from an html document, or null when it cannot be trusted. */
function derivedText(doc: string): string | null {
  try {
    const derived = deriveTextSource(doc);
    return derived === null ? null : precompile(derived, false);
  } catch {
    return null; // each rendered HTML is converted instead: slower, never wrong
  }
}
