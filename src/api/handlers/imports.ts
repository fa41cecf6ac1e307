import type { Request, Response } from "express";
import * as imports from "../../modules/imports/imports.service.ts";
import { closeIfBodyUnread } from "../body.ts";
import { receiveImport } from "../../modules/imports/upload.ts";
import { config } from "../../platform/config.ts";
import { AppError } from "../../platform/errors.ts";
import { acquireSlot } from "../../platform/slots.ts";
import { principal } from "../auth.ts";
import { idParam, noQuery, query } from "../validate.ts";

const RETRY_AFTER_S = 5;

/**
 * JSON `{customers: [...]}` or a text/csv body with a header row, streamed to storage as it arrives
 * (never parsed here); rows are checked by the job. At most IMPORT_UPLOADS_PER_KEY uploads per API
 * key at once, across processes: more is 429.
 */
export async function create(req: Request, res: Response) {
  const who = principal(req);
  const format = req.is("text/csv") ? "csv" : req.is(["application/json", "application/*+json"]) ? "json" : null;
  if (!format) throw new AppError("unsupported_media_type", "Send application/json ({customers: [...]}) or text/csv with a header row");
  // A slot outlives a dead process by at most the longest a request may take.
  const release = await acquireSlot(`import-uploads:${who.actor}`, config.IMPORT_UPLOADS_PER_KEY, config.HTTP_REQUEST_TIMEOUT_MS + 60_000);
  if (!release) {
    res.setHeader("Retry-After", String(RETRY_AFTER_S));
    throw new AppError("too_many_requests", `At most ${config.IMPORT_UPLOADS_PER_KEY} imports may upload at once per API key; retry when one has finished`);
  }
  try {
    const length = req.get("content-length");
    const created = await receiveImport(format, req, { actor: who.actor, ...(length !== undefined ? { contentLength: Number(length) } : {}) });
    res.status(202).location(`/v1/imports/${created.id}`).json(created);
  } catch (err) {
    // Refused part-way: leaving the read loop destroyed the request stream, so this socket cannot
    // carry another request. Without Connection: close a keep-alive client would send its next
    // request on it and get a connection reset (found by test/fuzz.test.ts).
    closeIfBodyUnread(req, res);
    throw err;
  } finally {
    await release();
  }
}

export async function get(req: Request, res: Response) {
  query(req, noQuery);
  res.json(await imports.getImport(idParam(req, "Import")));
}
