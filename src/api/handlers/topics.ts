import type { Request, Response } from "express";
import { z } from "zod";
import { createTopicSchema, topicKey, updateTopicSchema } from "../../modules/topics/topics.schema.ts";
import * as topics from "../../modules/topics/topics.service.ts";
import { body, listQuery, noQuery, params, query } from "../validate.ts";

const keyParam = z.object({ key: topicKey });

export async function create(req: Request, res: Response) {
  res.status(201).json(await topics.createTopic(body(req, createTopicSchema)));
}
export async function get(req: Request, res: Response) {
  query(req, noQuery);
  res.json(await topics.getTopic(params(req, keyParam).key));
}
export async function update(req: Request, res: Response) {
  const { key } = params(req, keyParam);
  res.json(await topics.updateTopic(key, body(req, updateTopicSchema)));
}
export async function list(req: Request, res: Response) {
  const q = query(req, listQuery);
  res.json(await topics.listTopics(q.limit, q.cursor));
}
