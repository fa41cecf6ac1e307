// A worker process killed with SIGKILL during a campaign's fan-out, and another during its delivery,
// then restarted: the campaign finishes with every consenting member reached exactly once.
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// A fast sweep and a short claim timeout so that a dead worker's claims come back within seconds.
Object.assign(process.env, {
  SEND_CLAIM_TIMEOUT_MS: "4000", SEND_SWEEP_INTERVAL_MS: "1000", SEND_SWEEP_QUEUED_AFTER_MS: "3000", SMTP_RATE_PER_SECOND: "300",
});
const { pool, sink, startHarness } = await import("./support/harness.ts");
const { campaignWorld, createCampaign, waitCampaign } = await import("./support/campaigns.ts");
const { sleep } = await import("./support/fixtures.ts");

let h: Awaited<ReturnType<typeof startHarness>>;
const workers: ChildProcess[] = [];
beforeAll(async () => {
  h = await startHarness({ workers: false });
});
afterAll(async () => {
  for (const w of workers) w.kill("SIGKILL");
  await h.close();
});

/** A worker process through the real entry point, on this file's database, queue prefix and sink. */
function startWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: { ...process.env, RAPPORT_ROLE: "worker", LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "inherit"],
  });
  workers.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      if (process.env.CRASH_DEBUG) process.stderr.write(d);
      if (d.toString().includes("rapport started")) resolve(child);
    });
    child.on("exit", (c) => reject(new Error(`worker exited with ${c}`)));
  });
}
const kill = (w: ChildProcess) => new Promise<void>((r) => { w.once("exit", () => r()); w.kill("SIGKILL"); });

/** Members with consent, written in bulk (set-up data at this scale; the API paths are tested elsewhere). */
async function members(topicKey: string, personaKey: string, n: number) {
  const { newId } = await import("../src/platform/ids.ts");
  const { addressHash } = await import("../src/platform/secrets.ts");
  const ids = Array.from({ length: n }, () => newId());
  const emails = ids.map((_, i) => `crash-${personaKey}-${i}@example.com`);
  await pool.query(
    `INSERT INTO customers (id, email, email_hash, name, persona_id, attributes, created_at, updated_at)
     SELECT x.id, x.email, x.hash, 'Crash test', (SELECT id FROM personas WHERE key = $4), '{}', now(), now()
       FROM unnest($1::uuid[], $2::text[], $3::text[]) AS x(id, email, hash)`,
    [ids, emails, emails.map((e) => addressHash(e)), personaKey],
  );
  await pool.query(
    `INSERT INTO consents (customer_id, topic_id, channel, status, created_at, updated_at)
     SELECT id, (SELECT id FROM topics WHERE key = $2), 'email', 'opted_in', now(), now() FROM unnest($1::uuid[]) AS id`,
    [ids, topicKey],
  );
  return emails;
}

const step = (what: string) => process.env.CRASH_DEBUG && console.log(new Date().toISOString(), what, sink.received.length);

describe("campaign, worker killed", () => {
  it("when a worker is SIGKILLed during fan-out and another during delivery, then after restarts every member gets the campaign exactly once", async () => {
    const w = await campaignWorld(h, 1);
    const emails = await members(w.topic.key, w.personas[0], 1500);

    const camp = await createCampaign(h, { topic: w.topic.key, template: w.template, audience: { personas: w.personas } });
    await h.api("POST", `/v1/campaigns/${camp.id}/schedule`);
    const first = await startWorker();
    // Killed after the first page's checkpoint and before the last.
    const until = Date.now() + 60_000;
    let checkpoint: string | null = null;
    while (!checkpoint && Date.now() < until) {
      checkpoint = (await pool.query("SELECT fanout_after FROM campaigns WHERE id = $1", [camp.id])).rows[0].fanout_after;
      if (!checkpoint) await sleep(10);
    }
    await kill(first);
    step('await kill(first);');
    const mid = (await pool.query("SELECT fanout_done_at, (SELECT count(*)::int FROM messages WHERE campaign_id = $1) AS n FROM campaigns WHERE id = $1", [camp.id])).rows[0];
    expect(checkpoint).not.toBeNull();
    expect(mid.fanout_done_at).toBeNull();
    expect(mid.n).toBeLessThan(1500);

    // The restarted worker takes the stalled fan-out job over (BullMQ) and resumes at the checkpoint.
    const second = await startWorker();
    await waitCampaign(h, camp.id, (c) => c.fanout.done, 90_000);
    step('await waitCampaign(h, camp.id, (c) => c.fanout.done, 90_000);');
    // Now kill it while messages are being handed over.
    while (sink.received.length < 300) await sleep(10);
    await kill(second);
    step('await kill(second);');
    const sentBefore = (await pool.query("SELECT count(*)::int AS n FROM messages WHERE campaign_id = $1 AND status = 'sent'", [camp.id])).rows[0].n;
    expect(sentBefore).toBeLessThan(1500);

    await startWorker();
    const done = await waitCampaign(h, camp.id, (c) => c.status === "completed", 120_000);
    expect(done.counts).toMatchObject({ targeted: 1500, sent: 1500, queued: 0 });
    await sleep(500);
    const got = new Map<string, number>();
    for (const m of sink.received) for (const to of m.to) got.set(to.toLowerCase(), (got.get(to.toLowerCase()) ?? 0) + 1);
    const missing = emails.filter((e) => !got.has(e));
    const dupes = emails.filter((e) => (got.get(e) ?? 0) > 1);
    expect(missing).toEqual([]);
    expect(dupes).toEqual([]);
  }, 540_000);
});
