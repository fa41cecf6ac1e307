// Body parsing for the JSON API and the public forms. JSON is checked while it is parsed: strings
// with NUL characters (PostgreSQL cannot store them) and nesting deeper than 32 levels (a stack
// overflow waiting to happen in later JSON.stringify calls) are refused with a 400 naming the key.
import express from "express";
import { config } from "../platform/config.ts";

const MAX_DEPTH = 32;
/** body-parser keeps only the message of errors thrown while parsing: this prefix marks ours. */
export const REJECT_PREFIX = "rapport-reject|";

// JSON.parse calls the reviver bottom-up, so a container's depth is 1 + its deepest child's. Objects
// are fresh per parse, so one WeakMap serves every request and forgets them with the body.
const depth = new WeakMap<object, number>();

function reviver(key: string, value: unknown): unknown {
  if (typeof value === "string" && value.includes("\u0000")) {
    throw new Error(`${REJECT_PREFIX}${key}|Strings may not contain NUL characters`);
  }
  if (value !== null && typeof value === "object") {
    let d = 1;
    for (const child of Object.values(value)) {
      if (child !== null && typeof child === "object") d = Math.max(d, 1 + (depth.get(child) ?? 1));
    }
    if (d > MAX_DEPTH) throw new Error(`${REJECT_PREFIX}${key}|JSON may not be nested deeper than ${MAX_DEPTH} levels`);
    depth.set(value, d);
  }
  return value;
}

export const jsonBody = () => express.json({ limit: config.BODY_LIMIT, type: ["application/json", "application/*+json"], reviver });

export const csvBody = () => express.text({ limit: config.BODY_LIMIT, type: ["text/csv", "text/plain"] });

/** Form posts of the public pages only (unsubscribe, preferences, confirmation). */
export const formBody = () => express.urlencoded({ extended: false, limit: "100kb", parameterLimit: 1000 });
