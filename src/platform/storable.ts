// What PostgreSQL cannot store: NUL in text or jsonb, and unpaired UTF-16 surrogates in jsonb. One
// rule for every edge that takes text from outside (JSON bodies, import rows), so a value refused
// there never reaches a statement that would fail on it.
const UNPAIRED = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const storableText = (s: string) => !s.includes("\u0000") && !UNPAIRED.test(s);

// JSON.stringify writes NUL and unpaired surrogates (and only those of the two) as \u escapes, so one
// scan of the serialised value checks a whole nested value; after an escaped backslash it is text.
const UNSTORABLE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f])/i;

export const storableValue = (v: unknown) => !UNSTORABLE_ESCAPE.test(JSON.stringify(v) ?? "");
