// The SMTP hand-off alone: `npx tsx bench/mailer-raw.ts` (BENCH_N=10000; BENCH_DKIM=1 signs with a
// generated 2048-bit key). N pre-built raw messages (the send benchmark's, ~8.8 KB each) go from this
// process through one pooled nodemailer transport into an SMTP sink in its own process (bench/lib),
//   sendMail  Mail.sendMail({ envelope, raw, messageId }), the hand-off before platform/raw-mail.ts
//   sendRaw   the project's sendRaw, which hands the SMTP pool a pre-built mail object
// in three alternating runs each, as many in flight as the hand-off allows (two per connection).
// Reported per run: messages/s, and CPU µs per message of this process (process.cpuUsage), which
// is the sending side only: the sink's parsing runs elsewhere.
import { fork } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { childScript } from "./lib/children.ts";
import { ask, once } from "./lib/measure.ts";
import { rawMessages, type RawMessage } from "./lib/raw-messages.ts";

const N = Number(process.env.BENCH_N ?? 10_000);
const RUNS = 3;
const FROM = "bench@rapport.localhost";

const sink = fork(childScript, ["sink"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
const sinkPort = ((await once(sink, (m) => "port" in m)) as { port: number }).port;
Object.assign(process.env, { SMTP_URL: `smtp://127.0.0.1:${sinkPort}`, RAPPORT_SECRET: randomBytes(32).toString("hex"), LOG_LEVEL: "warn" });
if (process.env.BENCH_DKIM) {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  Object.assign(process.env, { DKIM_DOMAIN: "rapport.localhost", DKIM_SELECTOR: "bench", DKIM_PRIVATE_KEY: privateKey.export({ type: "pkcs8", format: "pem" }).toString() });
}
const { config } = await import("../src/platform/config.ts");
const { initSecrets } = await import("../src/platform/secrets.ts");
initSecrets(config.RAPPORT_SECRET!);
const { closeMailer, mailer, sendRaw } = await import("../src/platform/mailer.ts");

type Send = (m: RawMessage) => Promise<unknown>;
const paths: Array<[string, Send]> = [
  ["sendMail", (m) => mailer().sendMail({ envelope: { from: FROM, to: [m.to] }, raw: m.raw, messageId: m.messageId })],
  ["sendRaw", (m) => sendRaw({ from: FROM, to: m.to, raw: m.raw, messageId: m.messageId })],
];
const inFlight = config.SMTP_POOL_SIZE * 2;

async function run(msgs: RawMessage[], send: Send): Promise<{ rate: number; cpuUs: number }> {
  await ask(sink, { cmd: "reset" }, (m) => "reset" in m);
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < msgs.length) await send(msgs[next++]);
  }));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const s = (await ask(sink, { cmd: "stats" }, (m) => "count" in m)) as { count: number; dupes: number };
  if (s.count !== msgs.length || s.dupes) throw new Error(`sink got ${s.count}/${msgs.length} (${s.dupes} duplicates)`);
  return { rate: (msgs.length / ms) * 1000, cpuUs: (cpu.user + cpu.system) / msgs.length };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const msgs = await rawMessages(N, "transactional");
  const kb = msgs.reduce((s, m) => s + Buffer.byteLength(m.raw), 0) / N / 1024;
  console.log(`mailer-raw: ${N} messages of ${kb.toFixed(1)} KB, pool of ${config.SMTP_POOL_SIZE} connections, ${inFlight} in flight, DKIM ${process.env.BENCH_DKIM ? "on" : "off"}`);
  // Warm-up: connections opened, code paths compiled, for both.
  for (const [, send] of paths) await run(msgs.slice(0, 1000), send);
  const results = new Map(paths.map(([name]) => [name, [] as Array<{ rate: number; cpuUs: number }>]));
  for (let i = 1; i <= RUNS; i++) {
    for (const [name, send] of paths) {
      const r = await run(msgs, send);
      results.get(name)!.push(r);
      console.log(`run ${i} ${name.padEnd(8)} ${r.rate.toFixed(0).padStart(6)} messages/s  ${r.cpuUs.toFixed(1).padStart(6)} µs CPU per message`);
    }
  }
  for (const [name, rs] of results) {
    console.log(`median ${name.padEnd(8)} ${median(rs.map((r) => r.rate)).toFixed(0).padStart(6)} messages/s  ${median(rs.map((r) => r.cpuUs)).toFixed(1).padStart(6)} µs CPU per message`);
  }
} finally {
  closeMailer();
  sink.kill("SIGTERM");
}
