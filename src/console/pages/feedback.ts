// The feedback inbox (marketers, like the API's GET /v1/feedback): what customers told us when they
// unsubscribed or saved their preferences, newest first, over the feedback module's use case.
import type { Request, Response } from "express";
import { listFeedbackQuery } from "../../modules/feedback/feedback.schema.ts";
import { listFeedback } from "../../modules/feedback/feedback.service.ts";
import { AppError } from "../../platform/errors.ts";
import { renderPage } from "../views.ts";

export async function index(req: Request, res: Response) {
  // The API's own query schema: a bad cursor or source is the same 400 as on GET /v1/feedback.
  const q = listFeedbackQuery.safeParse({ limit: 50, ...(req.query as Record<string, unknown>) });
  if (!q.success) throw new AppError("validation", "The feedback filter is invalid", { errors: q.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })) });
  const page = await listFeedback(q.data);
  const next = page.nextCursor ? `?${new URLSearchParams({ ...(q.data.source ? { source: q.data.source } : {}), cursor: page.nextCursor })}` : null;
  renderPage(res, "feedback", { title: "Feedback", nav_current: "feedback", items: page.data, source: q.data.source ?? "", next });
}
