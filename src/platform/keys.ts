// The one format for human-chosen keys (topics, templates, personas, ...): they appear in URLs, in
// template variants and in logs, so they are short, lower-case and need no escaping anywhere.
import { z } from "zod";

export const KEY_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** A key schema whose message names what the key is for, e.g. keySchema("persona"). */
export const keySchema = (what: string) =>
  z.string().regex(KEY_PATTERN, `A ${what} key has 1-64 lower-case letters, digits, '.', '_' or '-', and starts with a letter or digit`);
