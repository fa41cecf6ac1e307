// The engagement writer: reads hits from the Redis stream in batches (consumer group, so several
// worker processes share the work and a dead one's hits are reclaimed), classifies them, and stores
// raw events, per-message counts, campaign deltas and message.opened/clicked webhooks in one
// transaction per batch. A hit is acknowledged only after its batch committed.
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { logger } from "../../platform/logger.ts";
import { createRedis } from "../../platform/redis.ts";
import { encrypt } from "../../platform/secrets.ts";
import { onCommit, withTransaction } from "../../platform/sql.ts";
import { enqueueDeliveries, recordEvents, type DomainEvent } from "../webhooks/emit.ts";
import { parseHit, streamKey, type Hit } from "./capture.ts";
import { applyCampaignDeltas, campaignDeltas, campaignLinkClicks } from "./campaign-stats.ts";
import { burstClicks, BURST_MS, classify } from "./classify.ts";
import { addCounts, insertEvents, messageFacts, recentClicks, type Counts, type EventRow } from "./engagement.repository.ts";

const GROUP = "writers";
const BATCH = 1000;
const RECLAIM_IDLE_MS = 60_000;

/** Stores one batch of hits; hits for unknown or erased customers' messages are dropped. */
export async function writeHits(hits: Hit[]): Promise<number> {
  if (hits.length === 0) return 0;
  const ids = [...new Set(hits.map((h) => h.messageId))];
  const facts = await messageFacts(ids);
  const known = hits.filter((h) => facts.has(h.messageId)).sort((a, b) => a.at - b.at);
  if (known.length === 0) return 0;

  const rows: EventRow[] = known.map((h) => {
    const m = facts.get(h.messageId)!;
    const v = classify({ type: h.type, method: h.method, ip: h.ip, ua: h.ua, at: new Date(h.at), linkIndex: h.linkIndex }, m.sent_at);
    const key = m.data_key ? Buffer.from(m.data_key) : null;
    return {
      messageId: h.messageId, customerId: m.customer_id, type: h.type, linkIndex: h.linkIndex, method: h.method, machine: v.machine, rule: v.rule,
      ipEnc: key && h.ip ? encrypt(h.ip, key) : null, uaEnc: key && h.ua ? encrypt(h.ua, key) : null, at: new Date(h.at),
    };
  });
  // Several different links within a second: this batch's clicks and the ones already stored.
  const clicks = rows.map((r, i) => ({ r, i })).filter(({ r }) => r.type === "click" && (r.linkIndex ?? -1) >= 0);
  if (clicks.length > 0) {
    const list = clicks.map(({ r }) => ({ messageId: r.messageId, linkIndex: r.linkIndex!, at: r.at.getTime() }));
    const stored = await recentClicks([...new Set(list.map((c) => c.messageId))], new Date(Math.min(...list.map((c) => c.at)) - BURST_MS));
    for (const i of burstClicks(list, [...list, ...stored])) {
      const row = clicks[i].r;
      if (!row.machine) Object.assign(row, { machine: true, rule: "burst" });
    }
  }

  const deltas = new Map<string, Counts>();
  for (const r of rows) {
    const d = deltas.get(r.messageId) ?? { messageId: r.messageId, opens: 0, clicks: 0, machineOpens: 0, machineClicks: 0 };
    if (r.type === "open") r.machine ? d.machineOpens++ : d.opens++;
    else r.machine ? d.machineClicks++ : d.clicks++;
    deltas.set(r.messageId, d);
  }
  const events: DomainEvent[] = rows.map((r) => {
    const m = facts.get(r.messageId)!;
    return {
      type: r.type === "open" ? "message.opened" : "message.clicked",
      at: r.at,
      data: { messageId: r.messageId, customerId: r.customerId, campaignId: m.campaign_id, machine: r.machine, rule: r.rule, ...(r.type === "click" ? { link: r.linkIndex } : {}) },
    };
  });
  await withTransaction(async (c) => {
    await insertEvents(c, rows);
    const changes = await addCounts(c, [...deltas.values()]);
    await applyCampaignDeltas(c, campaignDeltas(changes, facts), campaignLinkClicks(rows, facts));
    const deliveries = await recordEvents(c, events);
    if (deliveries.length) onCommit(c, () => enqueueDeliveries(deliveries));
  });
  return rows.length;
}

type Entries = Array<[string, string[]]>;

/** Runs the writer loop in this process until stop(). */
export function startEngagementWriter(): { stop(): Promise<void> } {
  const r = createRedis({ blocking: true });
  const consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  let stopping = false;
  let lastReclaim = 0;

  const handle = async (entries: Entries) => {
    if (entries.length === 0) return;
    const hits = entries.map(([, f]) => parseHit(f)).filter((h): h is Hit => h !== null);
    await writeHits(hits);
    const ids = entries.map(([id]) => id);
    await r.multi().xack(streamKey(), GROUP, ...ids).xdel(streamKey(), ...ids).exec();
  };

  const read = async (blockMs: number): Promise<Entries> => {
    const args = blockMs > 0 ? ["BLOCK", blockMs] : [];
    const res = (await r.xreadgroup("GROUP", GROUP, consumer, "COUNT", BATCH, ...(args as ["BLOCK", number]), "STREAMS", streamKey(), ">")) as Array<[string, Entries]> | null;
    return res?.[0]?.[1] ?? [];
  };

  const loop = async () => {
    await r.xgroup("CREATE", streamKey(), GROUP, "0", "MKSTREAM").catch(() => undefined); // BUSYGROUP: exists
    while (!stopping) {
      try {
        if (Date.now() - lastReclaim > RECLAIM_IDLE_MS / 2) {
          lastReclaim = Date.now();
          const claimed = (await r.xautoclaim(streamKey(), GROUP, consumer, RECLAIM_IDLE_MS, "0-0", "COUNT", BATCH)) as [string, Entries];
          await handle(claimed[1] ?? []);
        }
        const entries = await read(500);
        // Clicks of the last second may have partners (several links within a second) still on
        // their way: wait out the window once and take those in the same batch.
        const newest = Math.max(0, ...entries.map(([, f]) => parseHit(f)).map((h) => (h?.type === "click" ? h.at : 0)));
        const wait = newest + BURST_MS - Date.now();
        if (newest > 0 && wait > 0 && entries.length < BATCH) {
          await new Promise((res) => setTimeout(res, wait));
          entries.push(...(await read(0)));
        }
        await handle(entries);
      } catch (err) {
        // Unacknowledged hits stay pending and are reclaimed; wait a little before the next round.
        logger.error({ err: (err as Error).message }, "engagement writer batch failed");
        if ((err as Error).message.includes("NOGROUP")) await r.xgroup("CREATE", streamKey(), GROUP, "0", "MKSTREAM").catch(() => undefined);
        await new Promise((res) => setTimeout(res, 1000));
      }
    }
  };
  const running = loop();
  return {
    async stop() {
      stopping = true;
      await running;
      await r.quit().catch(() => undefined);
    },
  };
}
