// The send API answers 202 once its rows are committed, without waiting for the job that carries
// them (src/modules/messages/accept.ts): ids wait up to a few milliseconds in dispatch's coalescing
// window. A process that stops flushes that window first (src/start.ts), so nothing accepted waits
// for the sweep.
import { afterAll, describe, expect, it, vi } from "vitest";

const { scheduleDelivery, flushScheduledDeliveries } = await import("../src/modules/delivery/dispatch.ts");
const { closeQueues, queue, QueueNames } = await import("../src/platform/queues.ts");
const { newId } = await import("../src/platform/ids.ts");
const { closeRedis } = await import("../src/platform/redis.ts");

afterAll(async () => {
  await closeQueues();
  await closeRedis();
});

const jobIds = async () => {
  const jobs = await queue(QueueNames.messageDelivery).getJobs(["waiting", "prioritized", "delayed"]);
  return jobs.flatMap((j) => (j.data as { ids: string[] }).ids);
};

describe("dispatch at shutdown", () => {
  it("when ids wait in the coalescing window and the process flushes, then their job is enqueued at once and the caller is told so", async () => {
    await jobIds(); // connected before the clock stops
    // The window's timer never fires: only the flush can enqueue the id.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const id = newId();
      const scheduled = scheduleDelivery([id]);
      // Precondition: nothing holds the id yet.
      expect(await jobIds()).not.toContain(id);
      await flushScheduledDeliveries();
      expect(await jobIds()).toContain(id);
      expect(await scheduled).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
