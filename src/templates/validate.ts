// Compile-on-save: every part of every variant must parse, compile, call only known helpers and
// partials, and still compile once placed in the layout with its CSS inlined. Variables the render
// context cannot provide are returned as warnings, not refused (data.* is free-form anyway).
import { htmlDocumentSource, textDocumentSource, variantSource, type TemplateSource } from "./compile.ts";
import { compileErrorFrom, TemplateCompileError } from "./errors.ts";
import { hbs, htmlCompileOptions, plainCompileOptions } from "./handlebars-env.ts";
import { lintTemplate, type LintIssue } from "./lint.ts";

export type { LintIssue };

export interface TemplateParts {
  subject: string;
  html: string;
  text?: string | null;
  variants?: Array<{ persona: string; subject?: string; html?: string; text?: string }>;
}

interface Part {
  src: string;
  part: string;
  html: boolean;
}

function partsOf(t: TemplateParts): Part[] {
  const out: Part[] = [{ src: t.subject, part: "subject", html: false }, { src: t.html, part: "html", html: true }];
  if (t.text !== undefined && t.text !== null) out.push({ src: t.text, part: "text", html: false });
  (t.variants ?? []).forEach((v, i) => {
    if (v.subject !== undefined) out.push({ src: v.subject, part: `variants.${i}.subject`, html: false });
    if (v.html !== undefined) out.push({ src: v.html, part: `variants.${i}.html`, html: true });
    if (v.text !== undefined) out.push({ src: v.text, part: `variants.${i}.text`, html: false });
  });
  return out;
}

function checkPart(p: Part, warnings: LintIssue[]): void {
  let ast: hbs.AST.Program;
  try {
    ast = hbs.parse(p.src);
  } catch (err) {
    throw compileErrorFrom(err, p.part);
  }
  const lint = lintTemplate(ast, p.part, { html: p.html });
  if (lint.errors.length) {
    const { line, column, message } = lint.errors[0];
    throw new TemplateCompileError(`The template part '${p.part}' does not compile: ${message} (line ${line}, column ${column})`, { part: p.part, line, column });
  }
  try {
    hbs.precompile(ast, p.html ? htmlCompileOptions : plainCompileOptions);
  } catch (err) {
    throw compileErrorFrom(err, p.part);
  }
  warnings.push(...lint.warnings);
}

/** Throws TemplateCompileError (422) naming part, line and column; returns the lint warnings. */
export function validateTemplate(t: TemplateParts): { warnings: LintIssue[] } {
  const warnings: LintIssue[] = [];
  for (const p of partsOf(t)) checkPart(p, warnings);
  const variants = t.variants ?? [];
  const source: TemplateSource = { subject: t.subject, html: t.html, text: t.text ?? null, variants };
  // Each distinct part once inside its layout: variants without their own html or text share the
  // default's, and compiling (and CSS-inlining) the same source again per variant proves nothing.
  const seen = new Set<string>();
  for (const persona of [null, ...variants.map((v) => v.persona)]) {
    const src = variantSource(source, persona);
    if (!seen.has(src.html.part)) {
      seen.add(src.html.part);
      try {
        hbs.precompile(htmlDocumentSource(src.html.src), htmlCompileOptions);
      } catch (err) {
        throw compileErrorFrom(err, src.html.part, { withinLayout: true });
      }
    }
    if (src.text && !seen.has(src.text.part)) {
      seen.add(src.text.part);
      try {
        hbs.precompile(textDocumentSource(src.text.src), plainCompileOptions);
      } catch (err) {
        throw compileErrorFrom(err, src.text.part, { withinLayout: true });
      }
    }
  }
  return { warnings };
}

/** Lint warnings of a saved (hence valid) template, without the cost of compiling it again. */
export function templateWarnings(t: TemplateParts): LintIssue[] {
  const warnings: LintIssue[] = [];
  for (const p of partsOf(t)) {
    try {
      warnings.push(...lintTemplate(hbs.parse(p.src), p.part, { html: p.html }).warnings);
    } catch {
      /* saved templates compiled when they were saved */
    }
  }
  return warnings;
}
