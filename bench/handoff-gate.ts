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

/** Redis CPU of EVALSHA and ZREM (server-wide: other clients of a shared Redis add noise). */
async function redisUsec(): Promise<number> {
  const info = await redis().info("commandstats");
  return [...info.matchAll(/cmdstat_(evalsha|zrem):calls=\d+,usec=(\d+)/g)].reduce((s, m) => s + Number(m[2]), 0);
}

async function run(concurrency: number) {
  let next = 0;
  const r0 = await redisUsec();
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
  await new Promise((r) => setTimeout(r, 20)); // the last grouped removals
  const redisCpu = ((await redisUsec()) - r0) / n;
  console.log(`concurrency ${concurrency}: ${Math.round(n / (ms / 1000))}/s, ${((ms * 1000) / n).toFixed(1)} us wall, ${((cpu.user + cpu.system) / n).toFixed(1)} us Node CPU and ${redisCpu.toFixed(1)} us Redis CPU per message`);
}
await run(1);
await run(10);
await new Promise((r) => setTimeout(r, 50));
const keys = await redis().keys(`${process.env.QUEUE_PREFIX}:*`);
if (keys.length) await redis().del(...keys);
await closeRedis();
