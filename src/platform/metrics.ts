// Prometheus metrics for this process (each API/worker process is scraped on its own).
import client from "prom-client";

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: "rapport_" });

export const httpDuration = new client.Histogram({
  name: "rapport_http_request_duration_seconds",
  help: "HTTP request duration by route template, method and status",
  labelNames: ["method", "route", "status"] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

export const messagesOutcome = new client.Counter({
  name: "rapport_messages_total",
  help: "Messages by outcome (accepted, suppressed, sent, failed, bounced, retried) in this process",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

export const templateThreads = new client.Gauge({
  name: "rapport_template_threads",
  help: "Template preparation threads running in this process (one from start-up: pool.ts warm; set at scrape time)",
  registers: [registry],
});

export const queueJobs = new client.Gauge({
  name: "rapport_queue_jobs",
  help: "BullMQ jobs by queue and state (read from Redis at scrape time)",
  labelNames: ["queue", "state"] as const,
  registers: [registry],
});
