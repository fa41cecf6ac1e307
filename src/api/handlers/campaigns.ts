import type { Request, Response } from "express";
import { createCampaignSchema, listCampaignsSchema, updateCampaignSchema } from "../../modules/campaigns/campaigns.schema.ts";
import * as campaigns from "../../modules/campaigns/campaigns.service.ts";
import * as lifecycle from "../../modules/campaigns/lifecycle.service.ts";
import { principal } from "../auth.ts";
import { body, idParam, noQuery, query } from "../validate.ts";

const id = (req: Request) => idParam(req, "Campaign");

export async function create(req: Request, res: Response) {
  const c = await campaigns.createCampaign(body(req, createCampaignSchema), principal(req).actor);
  res.status(201).location(`/v1/campaigns/${c.id}`).json(c);
}
export async function update(req: Request, res: Response) {
  const campaignId = id(req);
  res.json(await campaigns.updateCampaign(campaignId, body(req, updateCampaignSchema)));
}
export async function get(req: Request, res: Response) {
  query(req, noQuery);
  res.json(await campaigns.getCampaign(id(req)));
}
export async function list(req: Request, res: Response) {
  res.json(await campaigns.listCampaigns(query(req, listCampaignsSchema)));
}
export async function audience(req: Request, res: Response) {
  query(req, noQuery);
  res.json(await campaigns.campaignAudience(id(req)));
}
export async function stats(req: Request, res: Response) {
  query(req, noQuery);
  res.json(await campaigns.campaignStats(id(req)));
}

const actions = {
  schedule: lifecycle.scheduleCampaign,
  pause: (campaignId: string) => lifecycle.pauseCampaign(campaignId),
  resume: lifecycle.resumeCampaign,
  cancel: lifecycle.cancelCampaign,
} as const;

/** POST /v1/campaigns/{id}/{schedule|pause|resume|cancel}: the campaign after the change. */
export const action = (name: keyof typeof actions) => async (req: Request, res: Response) => {
  res.json(await actions[name](id(req)));
};
