// zod at the edge: parse body, params and query, or throw a 400 with every problem and its path.
import type { Request } from "express";
import { z } from "zod";
import { AppError, notFound } from "../platform/errors.ts";
import { isUuid } from "../platform/ids.ts";

/** One error per path; an unknown key is an error of its own path ("Unknown query parameter 'x'"). */
export function toFieldErrors(error: z.ZodError, what = "field") {
  return error.issues.flatMap((i) => {
    const at = i.path.map(String);
    if (i.code === "unrecognized_keys") return i.keys.map((k) => ({ path: [...at, k].join("."), message: `Unknown ${what} '${k}'` }));
    return [{ path: at.join(".") || "", message: i.message }];
  });
}

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const errors = toFieldErrors(r.error, where === "query" ? "query parameter" : "field");
    throw new AppError("validation", `The request ${where} is invalid: ${errors.map((e) => `${e.path || where}: ${e.message}`).join("; ")}`, { errors });
  }
  return r.data;
}

export const body = <S extends z.ZodType>(req: Request, schema: S): z.infer<S> => {
  if (req.body === undefined || !req.is(["application/json", "application/*+json"])) {
    throw new AppError("unsupported_media_type", "Send a JSON body with Content-Type: application/json");
  }
  return parse(schema, req.body, "body");
};
// Query schemas are strict, whatever the route: a parameter the route does not know (a typo, or
// `email[$ne]=x`) is a 400 naming it, never silently ignored (a list that comes back unfiltered is
// dangerous). Routes that take no query validate against noQuery.
const strictCache = new WeakMap<z.ZodType, z.ZodType>();
function strict<S extends z.ZodType>(schema: S): S {
  if (!(schema instanceof z.ZodObject)) return schema;
  let s = strictCache.get(schema);
  if (!s) strictCache.set(schema, (s = schema.strict()));
  return s as S;
}
export const query = <S extends z.ZodType>(req: Request, schema: S): z.infer<S> => queryOf(req.query, schema);
/** query() over a query object of the caller's (the console drops a form's empty choices first). */
export const queryOf = <S extends z.ZodType>(value: unknown, schema: S): z.infer<S> => parse(strict(schema), value, "query");
/** For routes without query parameters: any is a 400. */
export const noQuery = z.object({});
export const params = <S extends z.ZodType>(req: Request, schema: S): z.infer<S> => parse(schema, req.params, "path");

/** Shared list query: ?limit (1..500, default 50) and ?cursor. */
export { pageQuery as listQuery } from "../platform/pagination.ts";

/** Path ids are opaque to clients: anything that is not one of ours is simply not found (404). */
export function idParam(req: Request, what: string, name = "id"): string {
  const id = String(req.params[name] ?? "");
  if (!isUuid(id)) throw notFound(what, id.slice(0, 100));
  return id;
}
