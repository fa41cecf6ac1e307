// Lint of a parsed template part. Errors are things that would fail at render time (an unknown
// helper or partial); warnings are variables the render context cannot provide. Inside blocks that
// change the context (#each, #with, sections) plain names are relative to unknown data and are not
// checked; `@root.x`, `../x` that reaches the root, and block params still are.
import { knownHelpers, knownPartials } from "./handlebars-env.ts";
import { layoutPartials } from "./layout.ts";

type Node = hbs.AST.Node;
type Path = hbs.AST.PathExpression;

export interface LintIssue {
  part: string;
  line: number;
  column: number;
  message: string;
}

export interface LintResult {
  errors: LintIssue[];
  warnings: LintIssue[];
}

/** What the render context offers; ANY accepts everything below it. */
const ANY = "*";
type Shape = typeof ANY | null | { [k: string]: Shape };
const ROOT: Shape = {
  customer: { name: null, email: null, locale: null, timezone: null, attributes: ANY },
  persona: { key: null, name: null, description: null, story: null, goals: ANY, concerns: ANY, interests: ANY },
  data: ANY,
  unsubscribeUrl: null,
  preferencesUrl: null,
  touchpoints: { lastMessageSentAt: null, lastOpenAt: null, lastClickAt: null, messagesThisMonth: null },
  sender: { name: null, email: null, replyTo: null, postalAddress: null },
};

/** null when the path exists in ROOT, else the first segment that does not. */
function missing(parts: string[]): string | null {
  let shape: Shape = ROOT;
  for (let i = 0; i < parts.length; i++) {
    if (shape === ANY) return null;
    if (shape === null || !Object.hasOwn(shape, parts[i])) return parts.slice(0, i + 1).join(".");
    shape = shape[parts[i]];
  }
  return null;
}

const CONTEXT_KEEPING = new Set(["if", "unless", "eq", "ne", "gt", "lt", "and", "or", "not"]);

interface Scope {
  /** Context scopes, innermost last; true where the context is the render context's root. */
  contexts: boolean[];
  blockParams: Set<string>;
}

export function lintTemplate(ast: hbs.AST.Program, part: string, opts: { html: boolean }): LintResult {
  const out: LintResult = { errors: [], warnings: [] };
  const at = (n: Node) => ({ part, line: n.loc?.start.line ?? 1, column: (n.loc?.start.column ?? 0) + 1 });
  const error = (n: Node, message: string): void => void out.errors.push({ ...at(n), message });
  const warn = (n: Node, message: string): void => void out.warnings.push({ ...at(n), message });

  // Inline partials may be called before (textually) they are declared: collect them first.
  const inline = new Set<string>(opts.html ? layoutPartials : []);
  const collect = (n: unknown): void => {
    if (!n || typeof n !== "object") return;
    const o = n as { type?: string; path?: Path; params?: Array<{ value?: unknown }> };
    if (o.type === "DecoratorBlock" && o.path?.original === "inline" && typeof o.params?.[0]?.value === "string") inline.add(o.params[0].value);
    for (const v of Object.values(o)) if (v && typeof v === "object") collect(v);
  };
  collect(ast);

  const checkVariable = (p: Path, s: Scope) => {
    if (p.data) {
      if (p.parts[0] === "root" && p.parts.length > 1) report(p, p.parts.slice(1));
      return;
    }
    const explicitThis = /^(this\b|\.\/|\.$)/.test(p.original);
    if (!explicitThis && p.depth === 0 && s.blockParams.has(p.parts[0])) return;
    const ctx = s.contexts[s.contexts.length - 1 - p.depth];
    if (ctx === undefined) return warn(p, `'${p.original}' goes above the top of the render context`);
    if (ctx && p.parts.length) report(p, p.parts);
  };
  const report = (p: Path, parts: string[]) => {
    const m = missing(parts);
    if (m) warn(p, `'${p.original}' is not in the render context ('${m}' is unknown; use customer, persona, data, unsubscribeUrl, preferencesUrl, touchpoints or sender)`);
  };
  const isHelperName = (p: Path) => !p.data && p.depth === 0 && p.parts.length === 1 && knownHelpers.has(p.parts[0]);

  const expr = (e: Node, s: Scope) => {
    if (e.type === "PathExpression") checkVariable(e as Path, s);
    else if (e.type === "SubExpression") call(e as hbs.AST.SubExpression, s);
  };
  const args = (n: { params: Node[]; hash?: hbs.AST.Hash }, s: Scope) => {
    n.params.forEach((p) => expr(p, s));
    n.hash?.pairs.forEach((pair) => expr(pair.value, s));
  };
  const call = (n: { path: Node; params: Node[]; hash?: hbs.AST.Hash }, s: Scope) => {
    const p = n.path as Path;
    if (p.type === "PathExpression" && !isHelperName(p)) error(p, `Unknown helper '${p.original}'`);
    args(n, s);
  };

  const program = (prog: hbs.AST.Program | undefined, s: Scope) => prog?.body.forEach((st) => statement(st, s));
  const withParams = (s: Scope, prog: hbs.AST.Program | undefined): Scope =>
    prog?.blockParams?.length ? { ...s, blockParams: new Set([...s.blockParams, ...prog.blockParams]) } : s;

  const statement = (st: Node, s: Scope): void => {
    switch (st.type) {
      case "MustacheStatement": {
        const m = st as hbs.AST.MustacheStatement;
        if (m.path.type !== "PathExpression") return error(m, "Write text directly instead of a literal in {{ }}");
        const p = m.path as Path;
        if (m.params.length || m.hash?.pairs.length) call(m, s);
        else if (!isHelperName(p)) checkVariable(p, s);
        if (opts.html && !m.escaped) warn(m, `'{{{${p.original}}}}' inserts raw HTML without escaping`);
        return;
      }
      case "BlockStatement": {
        const b = st as hbs.AST.BlockStatement;
        const name = b.path.original;
        const helper = isHelperName(b.path);
        if (b.params.length || b.hash?.pairs.length) call(b, s);
        else if (!helper) checkVariable(b.path, s);
        // if/unless and the predicates keep the context; each, with and sections move into the value.
        const inner: Scope = helper && CONTEXT_KEEPING.has(name) ? s : { ...s, contexts: [...s.contexts, false] };
        program(b.program, withParams(inner, b.program));
        program(b.inverse, s);
        return;
      }
      case "PartialStatement":
      case "PartialBlockStatement": {
        const p = st as hbs.AST.PartialStatement & { program?: hbs.AST.Program };
        if (p.name.type === "PathExpression") {
          const name = (p.name as Path).original;
          if (st.type === "PartialStatement" && !knownPartials.has(name) && !inline.has(name)) error(p, `Unknown partial '${name}'`);
        } else expr(p.name, s);
        args(p, s);
        program(p.program, s);
        return;
      }
      case "DecoratorBlock": {
        const d = st as hbs.AST.BlockStatement;
        if (d.path.original !== "inline") error(d, `Unknown decorator '${d.path.original}'`);
        program(d.program, s);
        return;
      }
      case "Decorator":
        error(st, `Unknown decorator '${((st as hbs.AST.MustacheStatement).path as Path).original}'`);
        return;
    }
  };

  program(ast, { contexts: [true], blockParams: new Set() });
  return out;
}
