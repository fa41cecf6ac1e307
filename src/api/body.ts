// Body parsing for the JSON API and the public forms. JSON is checked while it is parsed: nesting
// deeper than 32 levels (a stack overflow waiting to happen in later JSON.stringify calls) is refused
// by a linear scan of the raw bytes; strings and keys that PostgreSQL's jsonb cannot store (NUL,
// unpaired surrogates) are refused by the reviver with a 400 naming the key.
import type { IncomingMessage } from "node:http";
import express, { type NextFunction, type Request, type Response } from "express";
import { AppError } from "../platform/errors.ts";
import { config, parseSize } from "../platform/config.ts";
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
export function jsonBody(limit = config.API_BODY_LIMIT) {
  const general = express.json({ limit, type: jsonTypes, reviver, verify: checkDepth });
  const max = parseSize(limit) ?? 0;
  return (req: Request, res: Response, next: NextFunction) => (plainJson(req, max) ? readPlainJson(req, next) : general(req, res, next));
}

const PLAIN_JSON_TYPE = /^application\/json\s*(?:;\s*charset="?utf-8"?\s*)?$/i;

// The common request, read without body-parser's general machinery (~30 µs per request on the send
// API): application/json in UTF-8, not compressed, with a declared length within the limit. Node's
// HTTP parser delivers exactly that many bytes. Anything else (chunked, gzip, other charsets, an
// empty body, a length over the limit: 413) goes through express.json, with the same rules.
function plainJson(req: Request, max: number): boolean {
  const length = Number(req.headers["content-length"]);
  const encoding = req.headers["content-encoding"];
  return (
    length > 0 && length <= max && req.headers["transfer-encoding"] === undefined &&
    (encoding === undefined || encoding.toLowerCase() === "identity") && PLAIN_JSON_TYPE.test(req.headers["content-type"] ?? "")
  );
}

function readPlainJson(req: Request, next: NextFunction): void {
  const chunks: Buffer[] = [];
  const fail = (err: unknown) => {
    req.off("data", onData);
    next(err);
  };
  const onData = (c: Buffer) => chunks.push(c);
  req.on("data", onData);
  req.once("error", fail);
  req.once("end", () => {
    req.off("error", fail);
    try {
      req.body = parseJson(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    } catch (err) {
      return next(err);
    }
    next();
  });
}

/** Parses as express.json does (strict: an object or array), with the same checks and errors. */
function parseJson(buf: Buffer): unknown {
  checkDepth(undefined as unknown as IncomingMessage, undefined, buf);
  const text = buf.toString("utf8");
  const first = /\S/.exec(text)?.[0];
  try {
    if (first !== "{" && first !== "[") throw new SyntaxError("not an object or array");
    // NUL and unpaired surrogates can only come from \u escapes (raw control characters are invalid
    // JSON; bad UTF-8 decodes to U+FFFD): without one, the reviver has nothing to refuse.
    return text.includes("\\u") ? JSON.parse(text, reviver) : JSON.parse(text);
  } catch (err) {
    if ((err as Error).message?.startsWith(REJECT_PREFIX)) throw err;
    throw Object.assign(new Error("invalid JSON"), { status: 400, type: "entity.parse.failed" });
  }
}


/** The public pages' forms are a few fields: a checkbox per topic, a CSRF token. */
export const FORM_LIMIT = "16kb";
const FORM_TYPE = "application/x-www-form-urlencoded";
// RFC 8058 lets a mail client send its one-click POST as multipart/form-data: kept as (small) text.
const MULTIPART_TYPE = "multipart/form-data";

const hasBody = (req: Request) => req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;

/** Anything but a small urlencoded form (or, for the one-click POST, a small multipart one) is 415. */
function formOnly(types: string[]) {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (hasBody(req) && !req.is(types)) throw new AppError("unsupported_media_type", `Send a form (${FORM_TYPE})`);
    next();
  };
}

const urlencoded = express.urlencoded({ extended: false, limit: FORM_LIMIT, parameterLimit: 100 });

/** Form posts of the public pages (preferences, confirmation, the unsubscribe page's button). */
export const formBody = () => [formOnly([FORM_TYPE]), urlencoded];

/** POST /u/{token}: the page's form, or a mail client's one-click POST in either form encoding. */
export const oneClickBody = () => [formOnly([FORM_TYPE, MULTIPART_TYPE]), urlencoded, express.text({ type: MULTIPART_TYPE, limit: FORM_LIMIT })];

/** Types a raw RFC 5322 message may be posted as (POST /v1/inbound/mime). */
export const MIME_TYPES = ["message/rfc822", "message/global", "text/plain", "application/octet-stream"];

/** POST /v1/inbound/mime: the raw bytes (API_BODY_LIMIT); any other type is 415. */
export const mimeBody = () => [
  (req: Request, _res: Response, next: NextFunction) => {
    if (!req.is(MIME_TYPES)) throw new AppError("unsupported_media_type", "Send the raw message as message/rfc822");
    next();
  },
  express.raw({ type: MIME_TYPES, limit: config.API_BODY_LIMIT }),
];

/**
 * For unknown routes: close the connection after the 404 rather than let Node read and discard a
 * body of any size to keep the socket alive. (Refusals of known routes, e.g. a 413, let Node discard
 * the rest, bounded by HTTP_REQUEST_TIMEOUT_MS, so that a client still sending reads its answer.)
 */
export function closeIfBodyUnread(req: Request, res: Response): void {
  if (hasBody(req) && !req.readableEnded && !res.headersSent) res.setHeader("Connection", "close");
}
