// Template sources that cost seconds to minutes to prepare (issue 9, finding 2), all within the
// request limits (256 KB of html, 10,000 tags), and a helper that measures the server's answers
// while such a save runs.
import { expect } from "vitest";
import type { ApiResponse } from "./harness.ts";

/** n CSS rules like `.cN div p span{color:red}` and n matching elements: n = 3,000 is 235 KB. */
export function cssHeavy(n: number): string {
  const rules = Array.from({ length: n }, (_, i) => `.c${i} div p span{color:red}`).join("\n");
  const els = Array.from({ length: n }, (_, i) => `<div class="c${i}"><div><p><span>x</span></p></div></div>`).join("\n");
  return `<style>${rules}</style>\n${els}`;
}

/** `<b><i><u>` nested to fill `bytes` (never closed, as in the report). */
export const nestedInline = (bytes = 225 * 1024) => "<b><i><u>".repeat(Math.floor(bytes / 9));

export interface Probe {
  path: string;
  status: number;
  ms: number;
  /** The save had not answered yet when this probe was answered. */
  duringSave: boolean;
}

/**
 * Starts `save`, then sends `probes` (one after another, round robin) until it answers. Returns
 * the save's response, how long it took, and each probe's latency.
 */
export async function probeWhile(
  save: () => Promise<ApiResponse>,
  probes: Array<() => Promise<ApiResponse>>,
  paths: string[],
): Promise<{ save: ApiResponse; saveMs: number; probes: Probe[] }> {
  let done = false;
  const started = performance.now();
  const saving = save().finally(() => (done = true));
  const out: Probe[] = [];
  await new Promise((r) => setTimeout(r, 20)); // the request is in the server
  for (let i = 0; !done; i++) {
    const t = performance.now();
    const r = await probes[i % probes.length]();
    out.push({ path: paths[i % probes.length], status: r.status, ms: performance.now() - t, duringSave: !done });
    await new Promise((r) => setTimeout(r, 25));
  }
  const res = await saving;
  return { save: res, saveMs: performance.now() - started, probes: out };
}

/** Median latency per path of the probes answered while the save ran; each path probed a few times. */
export function latencies(probes: Probe[]): Record<string, { n: number; median: number; max: number }> {
  const by: Record<string, number[]> = {};
  for (const p of probes.filter((x) => x.duringSave)) (by[p.path] ??= []).push(p.ms);
  return Object.fromEntries(
    Object.entries(by).map(([path, ms]) => {
      ms.sort((a, b) => a - b);
      return [path, { n: ms.length, median: Math.round(ms[Math.floor(ms.length / 2)]), max: Math.round(ms[ms.length - 1]) }];
    }),
  );
}

/** The same probes with nothing else running: what the machine gives right now. */
export async function idleProbes(probes: Array<() => Promise<ApiResponse>>, paths: string[], rounds = 8): Promise<Probe[]> {
  const out: Probe[] = [];
  for (let i = 0; i < rounds * probes.length; i++) {
    const t = performance.now();
    const r = await probes[i % probes.length]();
    out.push({ path: paths[i % probes.length], status: r.status, ms: performance.now() - t, duringSave: true });
    await new Promise((r) => setTimeout(r, 25));
  }
  return out;
}

/**
 * Each path was probed while the save ran (the precondition) and answered within 100 ms (median),
 * or, on a machine so loaded that the same request takes longer when nothing else runs, within
 * three times that idle median. Blocking, the failure this guards against, costs tens of seconds
 * (and no probe gets through while it lasts): no answer may take 5 s, a bound that survives a
 * machine running several test suites at once.
 */
export function expectResponsive(probes: Probe[], idle: Probe[], paths: string[]) {
  for (const p of probes) expect(p.status, p.path).toBeLessThan(300);
  const l = latencies(probes);
  const base = latencies(idle);
  for (const path of paths) {
    expect(l[path]?.n ?? 0, `${path} probed during the save`).toBeGreaterThanOrEqual(2);
    expect(l[path].median, `${path} median ms while saving (idle: ${base[path].median} ms)`).toBeLessThan(Math.max(100, 3 * base[path].median));
    expect(l[path].max, `${path} max ms while saving`).toBeLessThan(5000);
  }
  return { during: l, idle: base };
}
