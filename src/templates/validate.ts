// The checks of each part on its own: it must parse, call only known helpers and partials, and
// compile. Variables the render context cannot provide are warnings, not refused (data.* is
// free-form anyway). prepare.ts runs them on every part before building the documents.
import { compileErrorFrom, TemplateCompileError } from "./errors.ts";
import { hbs, htmlCompileOptions, plainCompileOptions } from "./handlebars-env.ts";
import { lintTemplate, type LintIssue } from "./lint.ts";
import { nestingIssue } from "./nesting.ts";

export type { LintIssue };

export interface TemplateParts {
  subject: string;
  html: string;
  text?: string | null;
  variants?: Array<{ persona: string; subject?: string; html?: string; text?: string }>;
}

export interface Part {
  src: string;
  part: string;
  html: boolean;
}

export function partsOf(t: TemplateParts): Part[] {
  const out: Part[] = [{ src: t.subject, part: "subject", html: false }, { src: t.html, part: "html", html: true }];
  if (t.text !== undefined && t.text !== null) out.push({ src: t.text, part: "text", html: false });
  (t.variants ?? []).forEach((v, i) => {
    if (v.subject !== undefined) out.push({ src: v.subject, part: `variants.${i}.subject`, html: false });
    if (v.html !== undefined) out.push({ src: v.html, part: `variants.${i}.html`, html: true });
    if (v.text !== undefined) out.push({ src: v.text, part: `variants.${i}.text`, html: false });
  });
  return out;
}

const refused = (p: Part, { line, column, message }: { line: number; column: number; message: string }) =>
  new TemplateCompileError(`The template part '${p.part}' does not compile: ${message} (line ${line}, column ${column})`, { part: p.part, line, column });

/**
 * Parses, lints and compiles one part on its own, so that errors name the part's own line and
 * column. Returns the lint warnings and the compiled (precompiled JavaScript) template.
 */
export function checkPart(p: Part): { warnings: LintIssue[]; spec: string } {
  const deep = nestingIssue(p.src);
  if (deep) throw refused(p, deep);
  let ast: hbs.AST.Program;
  try {
    ast = hbs.parse(p.src);
  } catch (err) {
    throw compileErrorFrom(err, p.part);
  }
  const lint = lintTemplate(ast, p.part, { html: p.html });
  if (lint.errors.length) throw refused(p, lint.errors[0]);
  try {
    return { warnings: lint.warnings, spec: hbs.precompile(ast, p.html ? htmlCompileOptions : plainCompileOptions) as string };
  } catch (err) {
    throw compileErrorFrom(err, p.part);
  }
}
