import type { Job } from "bullmq";
import { z } from "zod";
import { logger } from "../platform/logger.ts";
import { failImport, processImport } from "../modules/imports/imports.service.ts";

const data = z.object({ importId: z.uuid() });

export async function processCustomerImport(job: Job): Promise<void> {
  const { importId } = data.parse(job.data);
  try {
    await processImport(importId);
  } catch (err) {
    // Committed pages stay committed; after the last attempt the import is closed as failed (a job
    // that BullMQ fails for stalling never gets here: failStaleImports closes that one later).
    if (job.attemptsMade >= (job.opts.attempts ?? 1) - 1) {
      try {
        await failImport(importId, "The import stopped on an internal error after several retries; rows reported as processed were written");
      } catch (closeErr) {
        // The job's own error is the one to report; failStaleImports closes the import later.
        logger.error({ importId, err: (closeErr as Error).message }, "could not mark the import failed");
      }
    }
    throw err;
  }
}
