// One error module. Domain code throws AppError with a code; the HTTP edge maps it to RFC 9457.

export const errorCodes = {
  validation: { status: 400, title: "Invalid request" },
  unauthorized: { status: 401, title: "Unauthorized" },
  forbidden: { status: 403, title: "Forbidden" },
  not_found: { status: 404, title: "Not found" },
  conflict: { status: 409, title: "Conflict" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  unprocessable: { status: 422, title: "Unprocessable content" },
  too_many_requests: { status: 429, title: "Too many requests" },
  internal: { status: 500, title: "Internal server error" },
  unavailable: { status: 503, title: "Service unavailable" },
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface FieldError {
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly errors?: FieldError[];
  readonly extra?: Record<string, unknown>;

  constructor(code: ErrorCode, detail: string, opts: { errors?: FieldError[]; extra?: Record<string, unknown> } = {}) {
    super(detail);
    this.name = "AppError";
    this.code = code;
    this.errors = opts.errors;
    this.extra = opts.extra;
  }

  get status(): number {
    return errorCodes[this.code].status;
  }
}

export const notFound = (what: string, id: string) => new AppError("not_found", `${what} '${id}' does not exist`);
export const conflict = (detail: string) => new AppError("conflict", detail);
export const invalid = (detail: string, errors?: FieldError[]) => new AppError("validation", detail, { errors });
export const unprocessable = (detail: string, extra?: Record<string, unknown>) =>
  new AppError("unprocessable", detail, { extra });

/** Prisma unique-constraint violation (P2002), whichever adapter raised it. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string }; meta?: { driverAdapterError?: { cause?: { kind?: string } } } };
  return (
    e?.code === "P2002" ||
    e?.code === "23505" ||
    e?.cause?.code === "23505" ||
    e?.meta?.driverAdapterError?.cause?.kind === "UniqueConstraintViolation"
  );
}

/** Which unique fields collided, when Prisma says so. */
export function uniqueViolationTarget(err: unknown): string[] {
  const e = err as { meta?: { target?: string[] | string; driverAdapterError?: { cause?: { constraint?: { fields?: string[] } } } } };
  const t = e?.meta?.target ?? e?.meta?.driverAdapterError?.cause?.constraint?.fields;
  return Array.isArray(t) ? t : t ? [t] : [];
}

const connectionCodes = new Set([
  "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH",
  "P1001", "P1002", "P1017", "57P01", "57P02", "57P03", "53300",
]);
const connectionMessages =
  /Connection terminated|Connection is closed|connect ECONNREFUSED|Client has encountered a connection error|Reached the max retries per request|timeout exceeded when trying to connect|the database system is (starting up|shutting down)|terminating connection/i;

/**
 * Whether err says a dependency (PostgreSQL, Redis) cannot be reached right now, rather than that
 * the request or the code is wrong: node socket errors, SQLSTATE classes 08 and 57P0x, Prisma
 * P1001/P1002/P1017, the pg driver adapter's and ioredis' wrappings of them.
 */
export function isConnectionError(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== "object" || depth > 4) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown; name?: unknown; meta?: { driverAdapterError?: unknown } };
  const code = typeof e.code === "string" ? e.code : "";
  if (connectionCodes.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
  if (e.name === "MaxRetriesPerRequestError") return true;
  if (typeof e.message === "string" && connectionMessages.test(e.message)) return true;
  const kind = (e as { kind?: unknown }).kind;
  if (kind === "DatabaseNotReachable" || kind === "ConnectionClosed" || kind === "SocketTimeout") return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isConnectionError(x, depth + 1))) return true;
  return isConnectionError(e.cause, depth + 1) || isConnectionError(e.meta?.driverAdapterError, depth + 1);
}

