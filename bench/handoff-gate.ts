// Cost of the hand-off gate per message: admit (one Lua call) + done (grouped removal), against the
// Redis in REDIS_URL. `npx tsx bench/handoff-gate.ts [n]`.
import { randomUUID } from "node:crypto";
process.env.QUEUE_PREFIX ??= `benchgate${process.pid}`;
const { admitHandoff, gateEpoch } = await import("../src/platform/handoff-gate.ts");
const { closeRedis, redis } = await import("../src/platform/redis.ts");

const n = Number(process.argv[2] ?? 20000);
const customers = Array.from({ length: 1000 }, () => randomUUID());
const topic = randomUUID();
const epoch = await gateEpoch();
await redis().ping();

async function run(concurrency: number) {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++;
      const a = await admitHandoff({ messageId: randomUUID(), customerId: customers[i % customers.length], topicId: topic }, epoch);
      if (a.admission !== "admitted") throw new Error(a.admission);
      a.done();
    }
  }));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  console.log(`concurrency ${concurrency}: ${Math.round(n / (ms / 1000))}/s, ${((ms * 1000) / n).toFixed(1)} us wall and ${((cpu.user + cpu.system) / n).toFixed(1)} us node CPU per message`);
}
await run(1);
await run(10);
const info = await redis().info("commandstats");
console.log(info.split("\n").filter((l) => /evalsha|cmdstat_eval|zrem/.test(l)).join("\n"));
await new Promise((r) => setTimeout(r, 50));
const keys = await redis().keys(`${process.env.QUEUE_PREFIX}:*`);
if (keys.length) await redis().del(...keys);
await closeRedis();
