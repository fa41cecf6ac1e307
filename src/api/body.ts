// Body parsing for the JSON API and the public forms. JSON is checked while it is parsed: nesting
// deeper than 32 levels (a stack overflow waiting to happen in later JSON.stringify calls) is refused
// by a linear scan of the raw bytes; strings and keys that PostgreSQL's jsonb cannot store (NUL,
// unpaired surrogates) are refused by the reviver with a 400 naming the key.
import type { IncomingMessage } from "node:http";
import express from "express";
import { config } from "../platform/config.ts";
import { storableText } from "../platform/storable.ts";

const MAX_DEPTH = 32;
/** body-parser keeps only the message of errors thrown while parsing: this prefix marks ours. */
export const REJECT_PREFIX = "rapport-reject|";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** One pass over the raw body: bracket depth outside strings. Linear, no allocation per value. */
function checkDepth(_req: IncomingMessage, _res: unknown, buf: Buffer): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_DEPTH) throw new Error(`${REJECT_PREFIX}|JSON may not be nested deeper than ${MAX_DEPTH} levels`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

function reviver(key: string, value: unknown): unknown {
  if (!storableText(key)) throw new Error(`${REJECT_PREFIX}${key.replace(/[^\x20-\x7e]/g, "?")}|Keys may not contain NUL characters or unpaired surrogates`);
  if (typeof value === "string" && !storableText(value)) {
    throw new Error(`${REJECT_PREFIX}${key}|Strings may not contain NUL characters or unpaired surrogates`);
  }
  return value;
}

const jsonTypes = ["application/json", "application/*+json"];

/** The API's JSON bodies (API_BODY_LIMIT); imports have their own, larger limit (BODY_LIMIT). */
export const jsonBody = (limit = config.API_BODY_LIMIT) => express.json({ limit, type: jsonTypes, reviver, verify: checkDepth });

export const csvBody = () => express.text({ limit: config.BODY_LIMIT, type: ["text/csv", "text/plain"] });

/** Form posts of the public pages only (unsubscribe, preferences, confirmation). */
export const formBody = () => express.urlencoded({ extended: false, limit: "100kb", parameterLimit: 1000 });
