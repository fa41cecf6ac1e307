import express, { type Express } from "express";
import { csvBody, formBody, jsonBody } from "./body.ts";
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
  // The API key is checked before any body is read: an anonymous client cannot make the server parse
  // megabytes of JSON. Roles are checked per route (routes.ts).
  app.use("/v1", authenticated);
  app.use("/v1/customers/import", jsonBody(config.BODY_LIMIT), csvBody());
  app.use(jsonBody());
  // HTML forms exist only on the public pages; the API is JSON in, JSON out.
  app.use(["/u", "/preferences", "/confirm"], formBody());
  app.use(routes(opts));
  // The marketer console: its own edge over the same use cases (src/console/router.ts).
  app.use(consoleRoutes());
  app.use((req, _res, next) => next(new AppError("not_found", `No route for ${req.method} ${req.path}`)));
  app.use(problemMiddleware);
  return app;
}
