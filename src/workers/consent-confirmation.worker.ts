import { DelayedError, type Job } from "bullmq";
import { z } from "zod";
import { sendConfirmationEmail } from "../modules/consent/double-opt-in.service.ts";
import { RetryLater } from "../platform/errors.ts";

const data = z.object({ customerId: z.uuid(), topicId: z.uuid() });

export async function processConsentConfirmation(job: Job, token?: string): Promise<string> {
  const { customerId, topicId } = data.parse(job.data);
  try {
    return await sendConfirmationEmail(customerId, topicId);
  } catch (err) {
    // Not a failure: come back when the rate limit has room, without using up an attempt.
    if (err instanceof RetryLater && token) {
      await job.moveToDelayed(Date.now() + err.delayMs, token);
      throw new DelayedError();
    }
    throw err;
  }
}
