// The CLI's connection to a running engine: the typed client (src/client) at RAPPORT_URL with
// RAPPORT_API_KEY, and one way to report what went wrong (a problem's title and detail, or the
// problem itself with --json).
import { createRapportClient, type RapportClient } from "../client/index.ts";
import { config } from "../platform/config.ts";

export class CliError extends Error {
  constructor(message: string, readonly problem?: unknown) {
    super(message);
  }
}

export function engineUrl(): string {
  return (config.RAPPORT_URL ?? `http://localhost:${config.PORT}`).replace(/\/+$/, "");
}

export function client(): RapportClient {
  const apiKey = config.RAPPORT_API_KEY ?? config.RAPPORT_ADMIN_KEY;
  if (!apiKey) throw new CliError("Set RAPPORT_API_KEY to an API key (rapport keys create makes one with an admin key)");
  return createRapportClient({ baseUrl: engineUrl(), apiKey });
}

/** The data of an openapi-fetch answer, or a CliError naming the problem. */
export function ok<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.error !== undefined || r.data === undefined) {
    const p = (r.error ?? {}) as { title?: string; detail?: string };
    throw new CliError(`${r.response.status} ${p.title ?? r.response.statusText}${p.detail ? `: ${p.detail}` : ""}`, r.error);
  }
  return r.data;
}

/** Runs a command; failures print to stderr (or as JSON) and set exit code 1. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    const opts = args.find((a): a is { json?: boolean } => typeof a === "object" && a !== null && "json" in a);
    try {
      await fn(...args);
    } catch (err) {
      const e = err as Error & { problem?: unknown; cause?: { code?: string } };
      const message = e.cause?.code === "ECONNREFUSED" ? `No engine answers at ${engineUrl()} (set RAPPORT_URL)` : e.message;
      if (opts?.json) console.log(JSON.stringify({ error: message, ...(e.problem ? { problem: e.problem } : {}) }));
      else console.error(`rapport: ${message}`);
      process.exitCode = 1;
    }
  };
}
