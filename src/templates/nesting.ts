// Nesting bounds, checked on the source before Handlebars parses it: its parser's visitors, its
// compiler and our lint (lint.ts) recurse per level, and 3,000 nested (eq (eq ...)) overflowed
// the stack (a 500). One linear scan of the tags; real templates nest a few levels.

export const NESTING_LIMITS = {
  /** Subexpressions inside one tag: {{eq (eq (eq 1 1) 1) 1}} is 2. */
  subexpressions: 50,
  /** Blocks inside blocks ({{#if}}, {{#each}}, partial blocks; each {{else if}} adds one). */
  blocks: 100,
} as const;

export interface NestingIssue {
  line: number;
  column: number;
  message: string;
}

function position(src: string, at: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = src.indexOf("\n"); i >= 0 && i < at; i = src.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: at - lineStart + 1 };
}

/** The first place nested too deeply, or null. Unterminated tags are left to the parser. */
export function nestingIssue(src: string): NestingIssue | null {
  const opened: number[] = []; // block depth before each open block
  let depth = 0;
  for (let open = src.indexOf("{{"); open >= 0; ) {
    if (src.startsWith("{{!--", open)) {
      const close = src.indexOf("--}}", open + 5);
      if (close < 0) return null;
      open = src.indexOf("{{", close + 4);
      continue;
    }
    let parens = 0;
    let quote: string | null = null;
    let end = -1;
    for (let j = open + 2; j < src.length; j++) {
      const ch = src[j];
      if (quote) {
        if (ch === quote) quote = null;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === "[") quote = "]";
      else if (ch === "(" && ++parens > NESTING_LIMITS.subexpressions) {
        return { ...position(src, j), message: `Subexpressions are nested more than ${NESTING_LIMITS.subexpressions} deep` };
      } else if (ch === ")") parens--;
      else if (ch === "}" && src[j + 1] === "}") {
        end = j + 2;
        break;
      }
    }
    if (end < 0) return null;
    const head = src.slice(open + 2, Math.min(end, open + 12)).replace(/^[{~&\s]+/, "");
    if (head.startsWith("#") || (head.startsWith("^") && !/^\^\s*~?\}/.test(head))) {
      opened.push(depth);
      depth++;
    } else if (/^else\s+[^\s~}]/.test(head)) depth++; // {{else if x}}: one more level inside the chain
    else if (head.startsWith("/")) depth = opened.pop() ?? 0;
    if (depth > NESTING_LIMITS.blocks) return { ...position(src, open), message: `Blocks are nested more than ${NESTING_LIMITS.blocks} deep` };
    open = src.indexOf("{{", end);
  }
  return null;
}
