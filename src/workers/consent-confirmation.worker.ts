import type { Job } from "bullmq";
import { z } from "zod";
import { sendConfirmationEmail } from "../modules/consent/double-opt-in.service.ts";

const data = z.object({ customerId: z.uuid(), topicId: z.uuid() });

export async function processConsentConfirmation(job: Job): Promise<string> {
  const { customerId, topicId } = data.parse(job.data);
  return sendConfirmationEmail(customerId, topicId);
}
