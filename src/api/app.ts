import express, { type Express } from "express";
import { closeIfBodyUnread } from "./body.ts";
import { config } from "../platform/config.ts";
import { AppError } from "../platform/errors.ts";
import { authenticated } from "./auth.ts";
import { consoleRoutes } from "../console/router.ts";
import { measure } from "./handlers/metrics.ts";
import { problemMiddleware } from "./problem.ts";
import { routes, type RouteOptions } from "./routes.ts";

export function createApp(opts: RouteOptions = {}): Express {
  const app = express();
  app.disable("x-powered-by");
  // Only trusted hops may set X-Forwarded-For: the client IP is evidence in the consent ledger.
  app.set("trust proxy", config.TRUST_PROXY);
  app.set("query parser", "simple");
  app.use(measure);
  // Every /v1 request is authenticated first (an unknown /v1 path is 401 without a key). Bodies are
  // read only by the routes that take one, after the key and role were checked, each with its own
  // limit (routes.ts): an anonymous client cannot make the server parse megabytes of JSON.
  app.use("/v1", authenticated);
  app.use(routes(opts));
  // The marketer console: its own edge over the same use cases (src/console/router.ts).
  app.use(consoleRoutes());
  app.use((req, res, next) => {
    closeIfBodyUnread(req, res);
    next(new AppError("not_found", `No route for ${req.method} ${req.path}`));
  });
  app.use(problemMiddleware);
  return app;
}
