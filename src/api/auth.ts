// Bearer authentication and role enforcement. Every /v1 route declares the roles it admits.
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { authenticate, type Principal, type Role } from "../modules/api-keys/api-keys.service.ts";
import { config } from "../platform/config.ts";
import { AppError } from "../platform/errors.ts";
import { safeEqual } from "../platform/secrets.ts";

declare module "express-serve-static-core" {
  interface Request {
    principal?: Principal;
  }
}

export function principal(req: Request): Principal {
  if (!req.principal) throw new AppError("unauthorized", "Missing API key");
  return req.principal;
}

/** Admin is always admitted; list the other roles a route allows. */
export type GuardedHandler = RequestHandler & { roles: Role[] };

/** The token of an "Authorization: Bearer <token>" header, or null. */
const bearer = (req: Request) => /^Bearer\s+(\S+)\s*$/i.exec(req.get("authorization") ?? "")?.[1] ?? null;

async function authenticateRequest(req: Request, res: Response): Promise<Principal> {
  if (req.principal) return req.principal;
  const token = bearer(req);
  if (!token) {
    res.setHeader("WWW-Authenticate", 'Bearer realm="rapport"');
    throw new AppError("unauthorized", "Send an API key as 'Authorization: Bearer <key>'");
  }
  const p = await authenticate(token);
  if (!p) {
    res.setHeader("WWW-Authenticate", 'Bearer realm="rapport", error="invalid_token"');
    throw new AppError("unauthorized", "The API key is unknown or revoked");
  }
  req.principal = p;
  return p;
}

/** Every /v1 request, before its body is parsed: a valid key or 401. */
export async function authenticated(req: Request, res: Response, next: NextFunction) {
  await authenticateRequest(req, res);
  next();
}

export function allow(...roles: Role[]): GuardedHandler {
  const guard = async (req: Request, res: Response, next: NextFunction) => {
    const p = await authenticateRequest(req, res);
    if (p.role !== "admin" && !roles.includes(p.role)) {
      throw new AppError("forbidden", `This route needs one of the roles: ${["admin", ...roles].join(", ")}`);
    }
    next();
  };
  // Exposed so the route table can be audited (test/auth.test.ts checks every route).
  return Object.assign(guard, { roles: ["admin" as Role, ...roles] });
}

const LOOPBACK = ["127.0.0.1", "::1", "::ffff:127.0.0.1"];
const LOCAL_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/i;
/**
 * A request from this machine, not relayed: the socket is loopback, no proxy forwarded it (behind a
 * local reverse proxy every request arrives from 127.0.0.1) and the Host names this machine (a web
 * page using DNS rebinding reaches 127.0.0.1 under its own host name).
 */
const isLoopback = (req: Request) =>
  LOOPBACK.includes(req.socket.remoteAddress ?? "") &&
  req.get("x-forwarded-for") === undefined &&
  req.get("forwarded") === undefined &&
  LOCAL_HOST.test(req.get("host") ?? "");

/**
 * The development outbox has no API key (a newcomer opens it in a browser), so it answers only to
 * this machine: captured mail holds personal data and working unsubscribe and preference links.
 */
export function loopbackOnly(req: Request, _res: Response, next: NextFunction) {
  if (isLoopback(req)) return next();
  throw new AppError("forbidden", "The development outbox is only served to this machine");
}

/**
 * /metrics: with METRICS_TOKEN set, "Authorization: Bearer <METRICS_TOKEN>"; without it, this machine
 * only (queue depths and send rates are business data, so the default is closed, not open).
 */
export function metricsGuard(req: Request, _res: Response, next: NextFunction) {
  if (!config.METRICS_TOKEN) {
    if (isLoopback(req)) return next();
    throw new AppError("forbidden", "Set METRICS_TOKEN to scrape /metrics from another host");
  }
  const token = bearer(req);
  if (token && safeEqual(token, config.METRICS_TOKEN)) return next();
  throw new AppError("unauthorized", "Send the metrics token as 'Authorization: Bearer <METRICS_TOKEN>'");
}
