// zod at the edge: parse body, params and query, or throw a 400 with every problem and its path.
import type { Request } from "express";
import { z } from "zod";
import { AppError, notFound } from "../platform/errors.ts";
import { isUuid } from "../platform/ids.ts";

export function toFieldErrors(error: z.ZodError) {
  return error.issues.map((i) => ({ path: i.path.map(String).join(".") || "", message: i.message }));
}

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const errors = toFieldErrors(r.error);
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
export const query = <S extends z.ZodType>(req: Request, schema: S): z.infer<S> => parse(schema, req.query, "query");
export const params = <S extends z.ZodType>(req: Request, schema: S): z.infer<S> => parse(schema, req.params, "path");

/** Shared list query: ?limit (1..500, default 50) and ?cursor. */
export { pageQuery as listQuery } from "../platform/pagination.ts";

/** Path ids are opaque to clients: anything that is not one of ours is simply not found (404). */
export function idParam(req: Request, what: string, name = "id"): string {
  const id = String(req.params[name] ?? "");
  if (!isUuid(id)) throw notFound(what, id.slice(0, 100));
  return id;
}
