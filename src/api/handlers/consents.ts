import type { Request, Response } from "express";
import { z } from "zod";
import { getCadence, setCadence } from "../../modules/consent/cadence.service.ts";
import { putCadenceSchema, putConsentSchema } from "../../modules/consent/consent.schema.ts";
import * as consent from "../../modules/consent/consent.service.ts";
import { verifyLedger } from "../../modules/consent/ledger.service.ts";
import { topicKey } from "../../modules/topics/topics.schema.ts";
import { principal } from "../auth.ts";
import { body, idParam, noQuery, params, query } from "../validate.ts";

export async function put(req: Request, res: Response) {
  const customerId = idParam(req, "Customer");
  const { topicKey: key } = params(req, z.object({ id: z.string(), topicKey }));
  const input = body(req, putConsentSchema);
  res.json(await consent.setConsent({ ...input, customerId, topicKey: key, actor: principal(req).actor }));
}
export async function list(req: Request, res: Response) {
  query(req, noQuery);
  res.json({ data: await consent.listConsents(idParam(req, "Customer")), nextCursor: null });
}
export async function ledger(req: Request, res: Response) {
  query(req, noQuery);
  res.json({ data: await consent.listConsentEvents(idParam(req, "Customer")), nextCursor: null });
}
export async function verify(req: Request, res: Response) {
  query(req, noQuery);
  res.json(await verifyLedger(idParam(req, "Customer")));
}
export async function getCadenceState(req: Request, res: Response) {
  query(req, noQuery);
  res.json(await getCadence(idParam(req, "Customer")));
}
export async function putCadence(req: Request, res: Response) {
  const customerId = idParam(req, "Customer");
  const { pausedUntil, ...input } = body(req, putCadenceSchema);
  res.json(await setCadence({
    ...input, customerId, actor: principal(req).actor,
    ...(pausedUntil === undefined ? {} : { pausedUntil: pausedUntil === null ? null : new Date(pausedUntil) }),
  }));
}
