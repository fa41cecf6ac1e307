import type { Request, Response } from "express";
import * as imports from "../../modules/imports/imports.service.ts";
import { jsonImportSchema } from "../../modules/imports/imports.schema.ts";
import { AppError } from "../../platform/errors.ts";
import { principal } from "../auth.ts";
import { body, idParam } from "../validate.ts";

/** JSON `{customers: [...]}` or a text/csv body with a header row; rows are checked by the job. */
export async function create(req: Request, res: Response) {
  const actor = principal(req).actor;
  let created;
  if (req.is("text/csv")) {
    if (typeof req.body !== "string" || req.body.trim() === "") throw new AppError("validation", "The CSV body is empty");
    created = await imports.createImport({ format: "csv", text: req.body }, actor);
  } else if (req.is(["application/json", "application/*+json"])) {
    created = await imports.createImport({ format: "json", rows: body(req, jsonImportSchema).customers }, actor);
  } else {
    throw new AppError("unsupported_media_type", "Send application/json ({customers: [...]}) or text/csv with a header row");
  }
  res.status(202).location(`/v1/imports/${created.id}`).json(created);
}

export async function get(req: Request, res: Response) {
  res.json(await imports.getImport(idParam(req, "Import")));
}
