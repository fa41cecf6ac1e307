// Dashboard: sends per day, human engagement over 30 days, campaigns running or scheduled with
// their progress, consent changes this week.
import type { Request, Response } from "express";
import { listCampaigns } from "../../modules/campaigns/campaigns.service.ts";
import { consentChangesThisWeek, engagementLastDays, sentLastDays } from "../../modules/dashboard/dashboard.service.ts";
import { may } from "../access.ts";
import { renderPage } from "../views.ts";
import { progressOf } from "./campaigns.ts";

const DAYS = 30;

async function activeCampaigns() {
  const pages = await Promise.all((["running", "scheduled", "paused"] as const).map((status) => listCampaigns({ limit: 10, status })));
  return pages.flatMap((p) => p.data).map((c) => ({ id: c.id, name: c.name, status: c.status, progress: progressOf(c) }));
}

export async function dashboard(req: Request, res: Response) {
  const showCampaigns = may(req.principal!.role, "campaigns");
  const [sent, consent, engagement, campaigns] = await Promise.all([
    sentLastDays(DAYS), consentChangesThisWeek(), engagementLastDays(DAYS), showCampaigns ? activeCampaigns() : Promise.resolve(null),
  ]);
  const chart = { label: "Messages sent", days: sent.map((d) => d.day), values: sent.map((d) => d.sent) };
  renderPage(res, "dashboard", {
    title: "Dashboard", nav_current: "dashboard",
    sent, chartJson: JSON.stringify(chart).replace(/</g, "\\u003c"), totalSent: sent.reduce((n, d) => n + d.sent, 0),
    consent, consentTotal: consent.reduce((n, c) => n + c.count, 0), engagement, campaigns, showCampaigns,
  });
}
