import type { NextFunction, Request, Response } from "express";
import { httpDuration, queueJobs, registry, templateThreads } from "../../platform/metrics.ts";
import { queueCounts } from "../../platform/queues.ts";
import { preparePool } from "../../templates/pool.ts";

/** Records every request under its route template (never the raw path: ids and tokens stay out). */
export function measure(req: Request, res: Response, next: NextFunction) {
  const end = httpDuration.startTimer();
  res.on("finish", () => {
    const route = req.route?.path ? String(req.route.path) : "unmatched";
    end({ method: req.method, route, status: String(res.statusCode) });
  });
  next();
}

export async function metrics(_req: Request, res: Response) {
  templateThreads.set(preparePool().threads);
  try {
    for (const { queue, counts } of await queueCounts()) {
      for (const [state, n] of Object.entries(counts)) queueJobs.set({ queue, state }, n);
    }
  } catch {
    /* Redis down: still serve process metrics; /readyz reports the outage */
  }
  res.type(registry.contentType).send(await registry.metrics());
}
