// The webhook delivery use case (run by the webhook-delivery worker with a batch of delivery ids):
// claim, sign per Standard Webhooks, POST, log every attempt, schedule retries on the specification's
// schedule, and disable endpoints that answer 410 Gone or keep failing.
import { Webhook } from "standardwebhooks";
import { config } from "../../platform/config.ts";
import { decrypt } from "../../platform/secrets.ts";
import { enqueueDeliveries } from "./emit.ts";
import { postWebhook, type SendResult } from "./sender.ts";
import { claimDeliveries, recordAttempts, updateEndpointHealth, type AttemptResult, type ClaimedDelivery } from "./webhooks.repository.ts";

const IN_FLIGHT = 16;

/** `webhook-signature`: one v1 signature per valid secret (the previous one during a rotation). */
export function signatures(d: Pick<ClaimedDelivery, "secret_enc" | "previous_secret_enc" | "previous_secret_expires_at">, msgId: string, at: Date, body: string): string {
  const secrets = [decrypt(d.secret_enc)];
  if (d.previous_secret_enc && d.previous_secret_expires_at && d.previous_secret_expires_at.getTime() > at.getTime()) {
    secrets.push(decrypt(d.previous_secret_enc));
  }
  return secrets
    .filter((s): s is string => !!s)
    .map((s) => new Webhook(s).sign(msgId, at, body))
    .join(" ");
}

/** Delay before the attempt after `attemptInRound` attempts of this round, or null when none is left. */
export function retryDelay(attemptInRound: number, schedule = config.WEBHOOK_RETRY_SCHEDULE_MS): number | null {
  return attemptInRound < schedule.length ? schedule[attemptInRound] : null;
}

async function attempt(d: ClaimedDelivery): Promise<SendResult> {
  const at = new Date();
  const msgId = `msg_${d.id}`;
  return postWebhook(d.url, {
    "webhook-id": msgId,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": signatures(d, msgId, at, d.body),
  }, d.body);
}

export async function deliverWebhooks(ids: string[]): Promise<void> {
  const claimed = await claimDeliveries(ids, config.WEBHOOK_TIMEOUT_MS + 30_000);
  if (claimed.length === 0) return;
  const results: AttemptResult[] = [];
  const ok = new Set<string>();
  const failed = new Set<string>();
  const gone = new Set<string>();
  const retries = new Map<number, string[]>();

  let next = 0;
  const work = async () => {
    while (next < claimed.length) {
      const d = claimed[next++];
      const base = { id: d.id, webhookId: d.webhook_id, attempt: d.attempts };
      if (d.disabled_at) {
        results.push({ ...base, statusCode: null, outcome: "endpoint_disabled", response: null, durationMs: 0, status: "failed", nextAttemptAt: null });
        continue;
      }
      const r = await attempt(d);
      if (r.outcome === "ok") {
        ok.add(d.webhook_id);
        results.push({ ...base, ...r, status: "delivered", nextAttemptAt: null });
        continue;
      }
      failed.add(d.webhook_id);
      if (r.statusCode === 410) gone.add(d.webhook_id);
      const delay = r.statusCode === 410 ? null : retryDelay(d.attempts - d.round_start);
      const nextAttemptAt = delay === null ? null : new Date(Date.now() + delay);
      results.push({ ...base, ...r, status: delay === null ? "failed" : "pending", nextAttemptAt });
      if (delay !== null) retries.set(delay, [...(retries.get(delay) ?? []), d.id]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, claimed.length) }, work));

  await recordAttempts(results);
  // A success anywhere in this batch proves the endpoint is alive, even if another delivery failed.
  await updateEndpointHealth([...ok], [...failed].filter((w) => !ok.has(w)), [...gone], config.WEBHOOK_DISABLE_AFTER_MS);
  for (const [delay, group] of retries) await enqueueDeliveries(group, delay, `r${Date.now().toString(36)}`);
}
