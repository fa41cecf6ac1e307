import type { Request, Response } from "express";
import { bounceReportSchema } from "../../modules/inbound/inbound.schema.ts";
import * as inbound from "../../modules/inbound/inbound.service.ts";
import { AppError } from "../../platform/errors.ts";
import { principal } from "../auth.ts";
import { body, idParam, noQuery, query } from "../validate.ts";

/** POST /v1/inbound/bounces: 200 with what was applied (`duplicate: true` for a report seen before). */
export async function bounce(req: Request, res: Response) {
  query(req, noQuery);
  res.json(await inbound.receiveBounce(body(req, bounceReportSchema), principal(req).actor));
}

/** POST /v1/inbound/mime: a raw RFC 5322 message (DSN, ARF report, auto-reply or reply). */
export async function mime(req: Request, res: Response) {
  query(req, noQuery);
  if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
    throw new AppError("validation", "Send the raw message as the body", { errors: [{ path: "", message: "Empty body" }] });
  }
  res.json(await inbound.receiveMime(req.body, { channel: "mime", actor: principal(req).actor }));
}

export async function replies(req: Request, res: Response) {
  query(req, noQuery);
  res.json({ ...(await inbound.listReplies(idParam(req, "Message"))), nextCursor: null });
}
