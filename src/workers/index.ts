// Queue entry points. Each worker parses its job and calls a use case; nothing else lives here.
import { Worker, type Job, type Processor } from "bullmq";
import { config } from "../platform/config.ts";
import { scrubAddresses } from "../platform/scrub.ts";
import { logger } from "../platform/logger.ts";
import { QueueNames, type QueueName } from "../platform/queues.ts";
import { createRedis } from "../platform/redis.ts";
import { setWorkersStopping } from "../platform/worker-state.ts";
import { processCampaignDelivery, processCampaignJob, startCampaigns, stopCampaigns } from "./campaign.worker.ts";
import { processCustomerImport } from "./customer-import.worker.ts";
import { processMessageDelivery, startMessageDelivery, stopMessageDelivery } from "./message-delivery.worker.ts";
import { startEngagementWriter } from "../modules/engagement/writer.ts";
import { registerCampaignEngagement } from "../modules/campaigns/engagement-counters.ts";
import { processWebhookDelivery, startWebhookDelivery, stopWebhookDelivery } from "./webhook-delivery.worker.ts";

interface WorkerSpec {
  queue: QueueName;
  processor: Processor;
  concurrency: number;
  /** Called when the workers start, and before they close (e.g. to release claimed work). */
  onStart?: () => void;
  onClose?: () => Promise<void>;
}

// Register new workers here.
const specs: WorkerSpec[] = [
  // Imports are CPU- and write-heavy: two at a time keeps the API responsive on small machines.
  { queue: QueueNames.customerImport, processor: processCustomerImport, concurrency: 2 },
  // Each job carries a batch of message ids (see src/modules/delivery).
  {
    queue: QueueNames.messageDelivery, processor: processMessageDelivery, concurrency: config.SEND_CONCURRENCY,
    onStart: startMessageDelivery, onClose: stopMessageDelivery,
  },
  // Each job carries a batch of webhook delivery ids; each batch sends up to 16 requests at once.
  { queue: QueueNames.webhookDelivery, processor: processWebhookDelivery, concurrency: 4, onStart: startWebhookDelivery, onClose: stopWebhookDelivery },
  // The campaign lane: same batcher, served after the api lane (modules/delivery/batcher.ts).
  { queue: QueueNames.campaignDelivery, processor: processCampaignDelivery, concurrency: config.SEND_CONCURRENCY },
  // Fan-out pages and waves: a few at a time (each page is one insert of ~1,000 rows).
  { queue: QueueNames.campaignFanout, processor: processCampaignJob, concurrency: 2, onStart: startCampaigns, onClose: stopCampaigns },
];

export interface RunningWorkers {
  close(): Promise<void>;
}

export function startWorkers(): RunningWorkers {
  const connection = createRedis({ blocking: true });
  setWorkersStopping(false);
  for (const s of specs) s.onStart?.();
  const workers = specs.map((s) => {
    const w = new Worker(s.queue, s.processor, { connection, prefix: config.QUEUE_PREFIX, concurrency: s.concurrency });
    w.on("failed", (job: Job | undefined, err: Error) =>
      logger.warn({ queue: s.queue, jobId: job?.id, attempt: job?.attemptsMade, err: scrubAddresses(err.message) }, "job failed"),
    );
    w.on("error", (err) => logger.error({ queue: s.queue, err: scrubAddresses(err.message) }, "worker error"));
    return w;
  });
  // Not a BullMQ queue: the engagement writer reads the tracking endpoints' Redis stream in batches.
  registerCampaignEngagement();
  const writer = startEngagementWriter();
  return {
    async close() {
      // Stop taking jobs and let in-flight ones finish (BullMQ waits for active jobs on close); jobs
      // that wait (rate limit) give their work back instead (platform/worker-state.ts).
      const closing = workers.map((w) => w.close());
      setWorkersStopping(true);
      await Promise.all(specs.flatMap((s) => (s.onClose ? [s.onClose()] : [])));
      await Promise.all([...closing, writer.stop()]);
      await connection.quit().catch(() => undefined);
    },
  };
}
