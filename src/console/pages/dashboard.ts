// Dashboard: what exists today (sends per day, consent changes this week); campaign and engagement
// figures get their places once those features exist, never stand-in numbers.
import type { Request, Response } from "express";
import { consentChangesThisWeek, sentLastDays } from "../../modules/dashboard/dashboard.service.ts";
import { renderPage } from "../views.ts";

const DAYS = 30;

export async function dashboard(_req: Request, res: Response) {
  const [sent, consent] = await Promise.all([sentLastDays(DAYS), consentChangesThisWeek()]);
  const chart = { label: "Messages sent", days: sent.map((d) => d.day), values: sent.map((d) => d.sent) };
  renderPage(res, "dashboard", {
    title: "Dashboard", nav_current: "dashboard",
    sent, chartJson: JSON.stringify(chart).replace(/</g, "\\u003c"), totalSent: sent.reduce((n, d) => n + d.sent, 0),
    consent, consentTotal: consent.reduce((n, c) => n + c.count, 0),
  });
}
