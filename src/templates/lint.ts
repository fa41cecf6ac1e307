// Lint of a parsed template part. Errors are things that would fail at render time (an unknown
// helper or partial); warnings are variables the render context cannot provide, and per-send
// values where they can carry code: a whole URL (href="{{data.url}}" lets a javascript: link
// through; the renderer refuses it, url-safety.ts) or raw HTML ({{{data.x}}}). Inside blocks that
// change the context (#each, #with, sections) plain names are relative to unknown data and are not
// checked; `@root.x`, `../x` that reaches the root, and block params still are. The walk recurses,
// so nesting is bounded first (nesting.ts, on the source, before Handlebars parses it).
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

/** Values written by the marketer or by Rapport: everything else comes with each send (data, customer). */
const TRUSTED_ROOTS = new Set(["unsubscribeUrl", "preferencesUrl", "sender", "persona", "touchpoints"]);
/** Content that ends where an attribute value holding a URL begins: href=", src=', action= ... */
const URL_VALUE_START = /(?:^|[\s"'])(?:href|src|action|formaction|xlink:href|background|poster)\s*=\s*["']?$/i;

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
  // An explicit stack, not recursion: the tree may be deep.
  for (const stack: unknown[] = [ast]; stack.length; ) {
    const o = stack.pop() as { type?: string; path?: Path; params?: Array<{ value?: unknown }> };
    if (o.type === "DecoratorBlock" && o.path?.original === "inline" && typeof o.params?.[0]?.value === "string") inline.add(o.params[0].value);
    for (const v of Object.values(o)) if (v && typeof v === "object") stack.push(v);
  }

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

  /** The value may come with each send: data, customer, loop items, anything not a trusted root. */
  const perSend = (e: Node, s: Scope): boolean => {
    if (e.type === "SubExpression") return fromArgs(e as hbs.AST.SubExpression, s);
    if (e.type !== "PathExpression") return false; // a literal
    const p = e as Path;
    if (isHelperName(p)) return false;
    if (p.data) return p.parts[0] !== "root" || !TRUSTED_ROOTS.has(p.parts[1]);
    if (!/^(this\b|\.\/|\.$)/.test(p.original) && p.depth === 0 && s.blockParams.has(p.parts[0])) return true;
    return !s.contexts[s.contexts.length - 1 - p.depth] || !TRUSTED_ROOTS.has(p.parts[0]);
  };
  const fromArgs = (n: { params: Node[]; hash?: hbs.AST.Hash }, s: Scope): boolean =>
    n.params.some((p) => perSend(p, s)) || (n.hash?.pairs.some((pair) => perSend(pair.value, s)) ?? false);
  const urlWarning = (n: Node, shown: string) =>
    warn(n, `${shown} takes its whole URL from per-send data: a javascript: link would get through the template (and the message fail at send time); write the scheme and host yourself, e.g. href="https://example.com/{{data.path}}"`);

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

  const program = (prog: hbs.AST.Program | undefined, s: Scope) => prog?.body.forEach((st, i) => statement(st, s, prog.body[i - 1]));
  const withParams = (s: Scope, prog: hbs.AST.Program | undefined): Scope =>
    prog?.blockParams?.length ? { ...s, blockParams: new Set([...s.blockParams, ...prog.blockParams]) } : s;

  const statement = (st: Node, s: Scope, before?: Node): void => {
    switch (st.type) {
      case "MustacheStatement": {
        const m = st as hbs.AST.MustacheStatement;
        if (m.path.type !== "PathExpression") return error(m, "Write text directly instead of a literal in {{ }}");
        const p = m.path as Path;
        if (m.params.length || m.hash?.pairs.length) call(m, s);
        else if (!isHelperName(p)) checkVariable(p, s);
        const fromData = opts.html && (m.params.length || m.hash?.pairs.length ? fromArgs(m, s) : perSend(p, s));
        if (opts.html && !m.escaped) {
          warn(m, fromData ? `'{{{${p.original}}}}' inserts per-send data as raw HTML: scripts and links in it reach the email unescaped` : `'{{{${p.original}}}}' inserts raw HTML without escaping`);
        }
        // The end of the text before the tag is enough to see an attribute opening.
        const content = before?.type === "ContentStatement" ? (before as hbs.AST.ContentStatement).value.slice(-80) : "";
        if (fromData && URL_VALUE_START.test(content)) urlWarning(m, `'${/[\w:-]+\s*=\s*["']?$/.exec(content)![0]}{{${p.original}${m.params.length ? " ..." : ""}}}'`);
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
        const href = p.hash?.pairs.find((pair) => pair.key === "href");
        if (opts.html && href && perSend(href.value, s)) urlWarning(href.value, `'{{> ... href=${(href.value as Path).original ?? "(...)"}}}'`);
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
