import type { Request, Response } from "express";
import { listFeedbackQuery } from "../../modules/feedback/feedback.schema.ts";
import { listFeedback } from "../../modules/feedback/feedback.service.ts";
import { query } from "../validate.ts";

export async function list(req: Request, res: Response) {
  res.json(await listFeedback(query(req, listFeedbackQuery)));
}
