// npm run bench [-- --quick]: the send, campaign, import and render benchmarks one after another
// (each in its own process, its output shown as it comes), then one table of what they measured,
// as ratios where there is a baseline (the raw SMTP limit of the same run, creating vs updating,
// derived vs explicit text parts). --quick sets small sizes (a check that everything runs, not a
// measurement); BENCH_* variables set by hand win over both.
import { spawn } from "node:child_process";

const QUICK = process.argv.includes("--quick");

interface Bench {
  name: string;
  file: string;
  quick: Record<string, string>;
  /** Rows of the summary from the benchmark's output. */
  summary(out: string): Array<[string, string]>;
}

const num = (re: RegExp, s: string) => {
  const m = re.exec(s);
  return m ? Number(m[1].replace(/,/g, "")) : NaN;
};
const rate = (n: number, unit = "/s") => (Number.isFinite(n) ? `${Math.round(n).toLocaleString("en")}${unit}` : "n/a");
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${((a / b) * 100).toFixed(0)}%` : "n/a");

const benches: Bench[] = [
  {
    name: "send", file: "bench/send.ts", quick: { BENCH_N: "1000", BENCH_CONCURRENCY: "20" },
    summary(out) {
      const raw = num(/raw limit: .*? = (\d+)\/s/, out);
      const drain = num(/drain: .*?delivered \d+ in [\d.]+ s = (\d+)\/s/, out);
      const pipe = num(/pipelined: .*?delivered \d+, first request to last delivery [\d.]+ s = (\d+)\/s/, out);
      const accepted = num(/pipelined: accepted \d+ in [\d.]+ s = (\d+)\/s/, out);
      return [
        ["send: delivered (queue drain) vs raw SMTP", `${rate(drain)} vs ${rate(raw)} = ${ratio(drain, raw)}`],
        ["send: delivered while accepting vs raw SMTP", `${rate(pipe)} vs ${rate(raw)} = ${ratio(pipe, raw)}`],
        ["send: API accepted", rate(accepted)],
      ];
    },
  },
  {
    name: "campaign", file: "bench/campaign.ts", quick: { BENCH_SIZES: "1000" },
    summary(out) {
      const raw = num(/raw limit: .*? = (\d+)\/s/, out);
      const delivered = num(/\ndelivered \d+ in [\d.]+ s = (\d+)\/s/, out);
      const fanout = num(/fan-out: \d+ recipients in [\d.]+ s = (\d+)\/s/, out);
      return [
        ["campaign: delivered vs raw SMTP", `${rate(delivered)} vs ${rate(raw)} = ${ratio(delivered, raw)}`],
        ["campaign: fan-out", rate(fanout, " recipients/s")],
      ];
    },
  },
  {
    name: "import", file: "bench/import.ts", quick: { BENCH_ROWS: "2000", BENCH_BATCH: "1000" },
    summary(out) {
      const rows = [...out.matchAll(/-> (\d+) rows\/s/g)].map((m) => Number(m[1]));
      return [["import: creating, updating (updating vs creating)", `${rate(rows[0], " rows/s")}, ${rate(rows[1], " rows/s")} (${ratio(rows[1], rows[0])})`]];
    },
  },
  {
    name: "render", file: "bench/render.ts", quick: { BENCH_CUSTOMERS: "5000", BENCH_SECONDS: "1" },
    summary(out) {
      const derived = num(/text derived from HTML: ([\d,]+) renders\/s/, out);
      const explicit = num(/explicit text parts\s*: ([\d,]+) renders\/s/, out);
      const personas = num(/refreshAllRulePersonas, every customer changes persona: (\d+) ms/, out);
      return [
        ["render: derived text vs explicit text parts", `${rate(derived)} vs ${rate(explicit)} = ${ratio(derived, explicit)}`],
        ["render: persona resolution, all customers", Number.isFinite(personas) ? `${personas} ms` : "n/a"],
      ];
    },
  },
];

function run(b: Bench): Promise<{ code: number; out: string; seconds: number }> {
  const started = performance.now();
  const env = { ...(QUICK ? b.quick : {}), ...process.env };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", b.file], { env, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += String(d);
      process.stdout.write(d);
    });
    child.on("exit", (code) => resolve({ code: code ?? 1, out, seconds: (performance.now() - started) / 1000 }));
  });
}

const rows: Array<[string, string]> = [];
let failed = 0;
for (const b of benches) {
  console.log(`\n=== ${b.name} (${b.file}${QUICK ? ", quick" : ""})`);
  const r = await run(b);
  if (r.code !== 0) failed++;
  rows.push(...(r.code === 0 ? b.summary(r.out) : [[`${b.name}: failed (exit ${r.code})`, "-"] as [string, string]]), [`${b.name}: wall time`, `${r.seconds.toFixed(0)} s`]);
}
const width = Math.max(...rows.map(([k]) => k.length));
console.log(`\n=== summary${QUICK ? " (quick: sizes too small to compare with the README's figures)" : ""}`);
for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
process.exitCode = failed ? 1 : 0;
