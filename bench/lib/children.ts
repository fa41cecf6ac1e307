// Child processes shared by the benchmarks: `sink` (an SMTP server counting messages and duplicate
// Message-IDs) and `raw` (nodemailer's own pooled transport and its documented `sendMail({ raw })`,
// with the engine's pool size, sending BENCH_N pre-built messages of the benchmark's template into
// the sink: the machine's limit). Not the engine's sendRaw, so that the baseline stays put when the
// engine's own hand-off changes.
// Started with fork(childScript, [role]).
import { fileURLToPath } from "node:url";
import { cpuMs, peakRss } from "./measure.ts";
import { rawMessages } from "./raw-messages.ts";

export const childScript = fileURLToPath(import.meta.url);
const role = process.argv[2];
const N = Number(process.env.BENCH_N ?? 20_000);

if (role === "sink") {
  const { SMTPServer } = await import("smtp-server");
  let count = 0;
  let first = 0;
  let last = 0;
  let dupes = 0;
  let bytes = 0;
  // Arrivals per 250 ms since the first (BENCH_TIMELINE=1 prints them): ramp-up and tail.
  let buckets: number[] = [];
  const seen = new Set<string>();
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ["STARTTLS", "AUTH"], logger: false,
    onData(stream, _session, cb) {
      let head = "";
      stream.on("data", (c: Buffer) => {
        bytes += c.length;
        if (head.length < 4096) head += c.toString("latin1");
      });
      stream.on("end", () => {
        const id = /^Message-ID:\s*(\S+)/im.exec(head)?.[1] ?? "";
        if (seen.has(id)) dupes++;
        seen.add(id);
        const now = performance.now();
        if (count === 0) first = now;
        last = now;
        count++;
        const b = Math.floor((now - first) / 250);
        buckets[b] = (buckets[b] ?? 0) + 1;
        cb();
      });
    },
  });
  server.listen(0, "127.0.0.1", () => process.send!({ port: (server.server.address() as { port: number }).port }));
  process.on("message", (m: { cmd: string }) => {
    if (m.cmd === "stats") process.send!({ count, first, last, dupes, bytes, buckets: Array.from(buckets, (x) => x ?? 0), now: performance.now() });
    if (m.cmd === "reset") {
      count = 0; dupes = 0; first = 0; last = 0; bytes = 0; buckets = []; seen.clear();
      process.send!({ reset: true });
    }
  });
} else if (role === "raw") {
  const { initSecrets } = await import("../../src/platform/secrets.ts");
  initSecrets(process.env.RAPPORT_SECRET!);
  const nodemailer = (await import("nodemailer")).default;
  const { config } = await import("../../src/platform/config.ts");
  const url = new URL(config.SMTP_URL!);
  const transport = nodemailer.createTransport({ pool: true, maxConnections: config.SMTP_POOL_SIZE, maxMessages: Infinity, host: url.hostname, port: Number(url.port) });
  // The very messages the pipeline produces, built beforehand: the difference to the pipeline is
  // everything but the SMTP hand-off. BENCH_RAW_KIND=marketing builds marketing messages.
  // BENCH_RAW_WARMUP=W sends W other messages first, untimed: the baseline for a warmed-up engine.
  const W = Number(process.env.BENCH_RAW_WARMUP ?? 0);
  const kind = process.env.BENCH_RAW_KIND === "marketing" ? "marketing" : "transactional";
  // buildCpu: rendering and composing the timed messages (modules loaded by a first message), the
  // part of the engine's work that raw does beforehand (bench/campaign.ts prints the budget it leaves).
  await rawMessages(1, kind);
  const build0 = cpuMs(process.pid);
  const msgs = await rawMessages(W + N, kind);
  const buildCpu = ((cpuMs(process.pid) - build0) * N) / (W + N);
  const send = (batch: typeof msgs) => Promise.all(batch.map((m) => transport.sendMail({ envelope: { from: "bench@rapport.localhost", to: [m.to] }, raw: m.raw })));
  if (W > 0) await send(msgs.splice(0, W));
  const t0 = performance.now();
  const cpu0 = cpuMs(process.pid);
  await send(msgs);
  const ms = performance.now() - t0;
  const sendCpu = cpuMs(process.pid) - cpu0;
  transport.close();
  process.send!({ ms, rss: peakRss(process.pid), cpu: cpuMs(process.pid), sendCpu, buildCpu });
  setTimeout(() => process.exit(0), 100);
}
