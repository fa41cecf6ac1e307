// The one problem+json middleware (RFC 9457). Every error leaves the API through here.
import type { ErrorRequestHandler, Request, Response } from "express";
import { AppError, errorCodes, isConnectionError, type ErrorCode, type FieldError } from "../platform/errors.ts";
import { logger } from "../platform/logger.ts";
import { scrubAddresses } from "../platform/scrub.ts";
import { REJECT_PREFIX } from "./body.ts";
import { esc, sendPage } from "./pages.ts";

/** The problem type URI of a code (documented in /openapi.json). */
export const problemType = (code: ErrorCode) => `https://rapport.dev/problems/${code.replace(/_/g, "-")}`;

export function sendProblem(
  res: Response,
  code: ErrorCode,
  detail: string | undefined,
  instance: string,
  errors?: FieldError[],
  extra?: Record<string, unknown>,
): void {
  const { status, title } = errorCodes[code];
  // A dependency is down or busy: tell clients when to try again.
  if (code === "unavailable") res.set("Retry-After", "5");
  res
    .status(status)
    .type("application/problem+json")
    .send(
      JSON.stringify({
        type: problemType(code),
        title,
        status,
        ...(detail ? { detail } : {}),
        instance,
        ...(errors ? { errors } : {}),
        ...(extra ?? {}),
      }),
    );
}

/**
 * Public pages (everything outside /v1 that a person opens from an email) answer a browser (Accept
 * prefers text/html) with an HTML page and every other client with problem+json, for every error.
 */
const wantsPage = (req: Request) =>
  !req.path.startsWith("/v1") && req.accepts(["application/problem+json", "application/json", "text/html"]) === "text/html";

function respond(req: Request, res: Response, code: ErrorCode, detail: string | undefined, errors?: FieldError[], extra?: Record<string, unknown>): void {
  if (wantsPage(req)) {
    const { status, title } = errorCodes[code];
    return sendPage(res, status, title, `<p class="problem">${esc(detail ?? title)}</p>`);
  }
  sendProblem(res, code, detail, req.originalUrl.split("?")[0], errors, extra);
}

// body-parser errors carry a `type`; map them to the matching problem.
const parserErrors: Record<string, [ErrorCode, string]> = {
  "entity.parse.failed": ["validation", "The request body is not valid JSON"],
  "entity.too.large": ["payload_too_large", "The request body is larger than the server accepts"],
  "encoding.unsupported": ["unsupported_media_type", "Unsupported content encoding"],
  "charset.unsupported": ["unsupported_media_type", "Unsupported charset"],
  "request.aborted": ["validation", "The request was aborted"],
};

const byStatus: Partial<Record<number, ErrorCode>> = { 400: "validation", 404: "not_found", 413: "payload_too_large", 415: "unsupported_media_type" };

export const problemMiddleware: ErrorRequestHandler = (err, req, res, _next) => {
  if (res.headersSent) return;
  if (err instanceof AppError && err.code) {
    respond(req, res, err.code, err.message, err.errors, err.extra);
    return;
  }
  const message = typeof err?.message === "string" ? err.message : "";
  // The client went away mid-body (e.g. an import upload): there is no one to answer.
  if (err?.code === "ECONNRESET" && message === "aborted") return;
  if (message.startsWith(REJECT_PREFIX)) {
    const [, path, why] = message.split("|");
    respond(req, res, "validation", why, [{ path, message: why }]);
    return;
  }
  const parser = typeof err?.type === "string" ? parserErrors[err.type] : undefined;
  if (parser) {
    respond(req, res, parser[0], parser[1], parser[0] === "validation" ? [{ path: "", message: parser[1] }] : undefined);
    return;
  }
  // Other client errors raised by Express itself (e.g. a malformed %-escape in the path: URIError 400).
  const status = Number(err?.status ?? err?.statusCode);
  if (status >= 400 && status < 500) {
    respond(req, res, byStatus[status] ?? "validation", status === 400 ? "The request is malformed" : undefined);
    return;
  }
  // PostgreSQL or Redis unreachable: the request may succeed shortly (503 with Retry-After, not 500).
  if (isConnectionError(err)) {
    logger.warn({ err: { type: (err as Error)?.name, code: (err as { code?: string })?.code }, route: req.route?.path ?? "unmatched" }, "dependency unavailable");
    respond(req, res, "unavailable", "A dependency (database or queue) is unavailable; try again shortly");
    return;
  }
  // Logged by route template, never the raw path: public paths carry tokens.
  // Only name, code, message and stack: driver errors carry `detail`/`where` fields that quote the
  // values (emails, attributes) of the failing statement.
  const e = (err ?? {}) as { name?: string; code?: string; stack?: string };
  logger.error(
    { err: { type: e.name, code: e.code, message: scrubAddresses(message), stack: scrubAddresses(String(e.stack ?? ""), 4000) }, method: req.method, route: req.route?.path ?? "unmatched" },
    "unhandled error",
  );
  respond(req, res, "internal", "An unexpected error occurred; it has been logged.");
};
