// Direct dispatch of the busiest route (POST /v1/messages). Express's router walks its layers for
// every request: path matching, prefix trimming, nested routers, a closure per step. That walk was
// ~11% of the API's CPU per send. The route is resolved once, from the app's own layers (nothing is
// written twice: the same middleware and handlers, in the router's order), and requests that name
// it exactly are run through that list. Anything else, and any app whose layers are not
// understood, takes the router as before.
import type { ErrorRequestHandler, Express, NextFunction, Request, RequestHandler, Response } from "express";

type Handler = RequestHandler | ErrorRequestHandler;
interface Layer {
  handle: Handler & { stack?: Layer[] };
  route?: { path: string; stack: Layer[]; _handlesMethod(method: string): boolean };
  method?: string;
  match(path: string): false | { path: string; params: Record<string, string> };
}

export interface ResolvedRoute {
  route: NonNullable<Layer["route"]>;
  /** Middleware and the route's handlers, in the order the router would run them. */
  handlers: RequestHandler[];
  /** Error handlers after the route (problem+json). */
  onError: ErrorRequestHandler[];
}

/** Walks the router's layers for one method and path as the router would, or null if unsure. */
export function resolveRoute(stack: Layer[], method: string, path: string): ResolvedRoute | null {
  const handlers: RequestHandler[] = [];
  let found: Layer["route"] | undefined;
  // "found", "absent" (the router would go on after this stack) or "unsure" (give up).
  const walk = (layers: Layer[], rest: string): "found" | "absent" | "unsure" => {
    for (const layer of layers) {
      const m = layer.match(rest);
      if (!m) continue;
      // Parameters would have to be decoded and merged as the router does: not for this path.
      if (Object.keys(m.params).length > 0) return "unsure";
      if (layer.route) {
        if (!layer.route._handlesMethod(method)) continue;
        if (layer.route.stack.some((l) => l.method !== method.toLowerCase() || l.handle.length === 4)) return "unsure";
        handlers.push(...layer.route.stack.map((l) => l.handle as RequestHandler));
        found = layer.route;
        return "found";
      }
      if (layer.handle.length === 4) continue; // error handlers run only on the error path
      if (Array.isArray(layer.handle.stack)) {
        // A nested router: its matching middleware runs even when none of its routes matches.
        const inner = walk(layer.handle.stack, rest.slice(m.path.length) || "/");
        if (inner !== "absent") return inner;
        continue;
      }
      handlers.push(layer.handle as RequestHandler);
    }
    return "absent";
  };
  if (walk(stack, path) !== "found" || !found) return null;
  // Error handlers at the app's top level, after the route's layer (where the router would look).
  const onError = stack.filter((l) => l.handle.length === 4 && l.match(path)).map((l) => l.handle as ErrorRequestHandler);
  return onError.length > 0 ? { route: found, handlers, onError } : null;
}

/** Routes `method path` (exact URL, no query) directly; every other request goes to app.handle. */
export function dispatchDirectly(app: Express, method: string, path: string): ResolvedRoute | null {
  const stack = (app as unknown as { router: { stack: Layer[] } }).router.stack;
  const resolved = resolveRoute(stack, method, path);
  if (!resolved) return null;
  const { route, handlers, onError } = resolved;
  const appHandle = (app as unknown as { handle: (req: Request, res: Response, cb?: NextFunction) => void }).handle.bind(app);
  const poweredBy = app.enabled("x-powered-by");
  (app as unknown as { handle: typeof appHandle }).handle = (req, res, cb) => {
    if (cb !== undefined || req.method !== method || req.url !== path) return appHandle(req, res, cb);
    // What app.handle and the router set up before the first handler.
    if (poweredBy) res.setHeader("X-Powered-By", "Express");
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    req.res = res;
    res.req = req;
    res.locals ??= Object.create(null);
    req.originalUrl = req.url;
    req.baseUrl = "";
    req.params = {};
    req.route = route;
    run(req, res, handlers, onError);
  };
  return resolved;
}

function run(req: Request, res: Response, handlers: RequestHandler[], onError: ErrorRequestHandler[]): void {
  let i = 0;
  let e = 0;
  const next: NextFunction = (err?: unknown) => {
    if (err !== undefined && err !== null) return fail(err);
    const h = handlers[i++];
    if (!h) return fail(new Error(`no handler ended ${req.method} ${req.url}`));
    invoke(() => h(req, res, next));
  };
  const fail = (err: unknown) => {
    const h = onError[e++];
    if (!h) {
      if (!res.headersSent) res.writeHead(500).end();
      return;
    }
    invoke(() => h(err, req, res, fail), fail);
  };
  const invoke = (call: () => unknown, onThrow: (err: unknown) => void = fail) => {
    req.next = next;
    try {
      const ret = call() as Promise<unknown> | undefined;
      if (ret && typeof ret.then === "function") ret.then(undefined, (err) => onThrow(err ?? new Error("Rejected promise")));
    } catch (err) {
      onThrow(err);
    }
  };
  next();
}
