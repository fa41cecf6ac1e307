// The feedback inbox (marketers, like the API's GET /v1/feedback): what customers told us when they
// unsubscribed or saved their preferences, newest first, over the feedback module's use case.
import type { Request, Response } from "express";
import { listFeedbackQuery } from "../../modules/feedback/feedback.schema.ts";
import { listFeedback } from "../../modules/feedback/feedback.service.ts";
import { queryOf } from "../../api/validate.ts";
import { renderPage } from "../views.ts";

export async function index(req: Request, res: Response) {
  // The API's own query parsing and schema: a bad cursor or source is the same 400 as on GET /v1/feedback.
  // "Everywhere" submits an empty source: no filter.
  const q = queryOf(Object.fromEntries(Object.entries(req.query).filter(([, v]) => v !== "")), listFeedbackQuery);
  const page = await listFeedback(q);
  const next = page.nextCursor ? `?${new URLSearchParams({ ...(q.source ? { source: q.source } : {}), cursor: page.nextCursor })}` : null;
  renderPage(res, "feedback", { title: "Feedback", nav_current: "feedback", items: page.data, source: q.source ?? "", next });
}
