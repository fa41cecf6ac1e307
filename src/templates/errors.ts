// Template errors are AppErrors (422 at the HTTP edge) that also carry where the problem is, so
// preview, save and the send pipeline can all report "part, line, column".
import Handlebars from "handlebars";
import { AppError } from "../platform/errors.ts";

export interface SourcePosition {
  /** e.g. "html", "subject", "variants.0.html" */
  part: string;
  /** 1-based */
  line?: number;
  /** 1-based */
  column?: number;
}

/** The template does not compile, or uses a helper or partial that does not exist. */
export class TemplateCompileError extends AppError {
  readonly position: SourcePosition;
  constructor(detail: string, position: SourcePosition) {
    super("unprocessable", detail, { extra: { ...position } });
    this.name = "TemplateCompileError";
    this.position = position;
  }
}

/** The template compiled but failed while rendering (e.g. `{{#each}}` without a list). */
export class TemplateRenderError extends AppError {
  constructor(detail: string, part: string) {
    super("unprocessable", detail, { extra: { part } });
    this.name = "TemplateRenderError";
  }
}

/**
 * Preparing the template would cost too much: a cap on the work was crossed before it started
 * (complexity.ts), or the job ran past its time or memory budget (pool.ts). `part` when known.
 */
export class TemplateTooComplexError extends AppError {
  constructor(detail: string, part?: string) {
    super("unprocessable", detail, { extra: part ? { part } : {} });
    this.name = "TemplateTooComplexError";
  }
}

/** A marketing message whose final output lacks the unsubscribe link or the postal address. */
export class ComplianceError extends AppError {
  readonly missing: string[];
  constructor(missing: string[]) {
    super("unprocessable", `A marketing message must contain ${missing.join(" and ")}; the rendered message does not`, { extra: { missing } });
    this.name = "ComplianceError";
    this.missing = missing;
  }
}

interface Located {
  message?: string;
  lineNumber?: number;
  column?: number;
}

/**
 * Position of a Handlebars compile error. Parser errors only say "line N" in their message; the
 * shared lexer still holds the location of the offending token right after the throw.
 */
export function compileErrorFrom(err: unknown, part: string, opts: { withinLayout?: boolean } = {}): TemplateCompileError {
  const e = err as Located;
  if (opts.withinLayout) {
    // Positions refer to the composed document, not to the part: do not report misleading ones.
    return new TemplateCompileError(`The template part '${part}' does not compile inside the layout (${String(e?.message ?? err).split("\n")[0]})`, { part });
  }
  const message = String(e?.message ?? err).split("\n");
  let line = typeof e?.lineNumber === "number" ? e.lineNumber : undefined;
  let column = typeof e?.column === "number" ? e.column + 1 : undefined;
  if (line === undefined) {
    const loc = (Handlebars as unknown as { Parser?: { lexer?: { yylloc?: { first_line: number; first_column: number } } } }).Parser?.lexer?.yylloc;
    const fromMessage = /on line (\d+)/.exec(message[0]);
    line = fromMessage ? Number(fromMessage[1]) : loc?.first_line;
    if (loc && loc.first_line === line) column = loc.first_column + 1;
  }
  // The last line of a parser message names what was expected; the excerpt lines are noise in JSON.
  const head = message[0].replace(/[:.]\s*$/, "");
  const why = message.length > 1 ? `${head}: ${message[message.length - 1]}` : head;
  return new TemplateCompileError(`The template part '${part}' does not compile (${why})`, { part, line, column });
}
