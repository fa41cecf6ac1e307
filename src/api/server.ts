// The HTTP server, with the limits against slow and greedy clients in one place: `npm start` and the
// test harness both listen through here. A slowloris client (headers one byte at a time) is cut off
// after headersTimeout; a body trickled in forever after requestTimeout.
import { createServer, IncomingMessage, ServerResponse, type Server } from "node:http";
import type { Server as NetServer } from "node:net";
import type { Express } from "express";
import { config } from "../platform/config.ts";

export interface ServerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  maxRequestsPerSocket: number;
}

export const serverLimits = (): ServerLimits => ({
  headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
  requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
  keepAliveTimeoutMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
  maxConnections: config.HTTP_MAX_CONNECTIONS,
  maxRequestsPerSocket: config.HTTP_MAX_REQUESTS_PER_SOCKET,
});

/**
 * Request and response constructors whose instances are born with the app's prototypes. Express
 * otherwise switches the prototype of every request and response (Object.setPrototypeOf): V8 pays
 * ~10 µs for each and the two objects stay slow to use after (the send API used 752 µs of CPU per
 * request with the switch, 450 without: bench/README.md).
 * Express's own switch then finds the prototype already in place, which costs nothing.
 */
function appMessageClasses(app: Express) {
  // Node's constructors are plain functions today; should they become classes, keep Node's own.
  if (/^class\b/.test(Function.prototype.toString.call(IncomingMessage)) || /^class\b/.test(Function.prototype.toString.call(ServerResponse))) return {};
  function AppRequest(this: IncomingMessage, socket: ConstructorParameters<typeof IncomingMessage>[0]) {
    IncomingMessage.call(this, socket);
  }
  AppRequest.prototype = app.request;
  function AppResponse(this: ServerResponse, req: IncomingMessage, options?: object) {
    (ServerResponse as unknown as (this: ServerResponse, req: IncomingMessage, options?: object) => void).call(this, req, options);
  }
  AppResponse.prototype = app.response;
  return { IncomingMessage: AppRequest as unknown as typeof IncomingMessage, ServerResponse: AppResponse as unknown as typeof ServerResponse };
}

export function createHttpServer(app: Express, limits: ServerLimits = serverLimits()): Server {
  const server = createServer(
    {
      ...appMessageClasses(app),
      headersTimeout: limits.headersTimeoutMs,
      // Node needs requestTimeout >= headersTimeout (0 would disable it).
      requestTimeout: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Both timeouts are enforced by a periodic check (30 s by default, longer than a short
      // headersTimeout): check often enough that a connection never outlives its limit by much.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    app,
  );
  server.maxConnections = limits.maxConnections;
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  // An idle socket that never sends a first request is dropped too (headersTimeout only starts
  // with the first byte of a request on some Node versions).
  server.setTimeout(Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs));
  return server;
}

/**
 * Listens and resolves once bound (rejects on EADDRINUSE and the like). `at` is a port, or a server
 * already listening whose socket this one takes over (the tests bind their port when they pick it,
 * so that nothing else can take it before the engine starts).
 */
export async function listen(app: Express, at: number | NetServer, host: string, limits?: ServerLimits): Promise<Server> {
  const server = createHttpServer(app, limits);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if (typeof at === "number") server.listen(at, host, () => resolve());
    else server.listen(at, () => resolve());
  });
  return server;
}
