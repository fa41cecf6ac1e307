// What 80% of the raw limit leaves for the engine's own steps, in the same run. Raw renders and
// composes its messages before it is timed and then only hands them to SMTP, in one event loop; the
// engine does both while it delivers, plus what makes it an engine (fan-out, claim, consent read at
// hand-off, link tracking, outcome and event rows, campaign counters, queue, hand-off gate), in
// several processes sharing the machine's cores with PostgreSQL, Redis and the sink. With every core
// busy and nothing lost to waiting (a generous assumption), delivering at 80% of raw's rate allows
// cores / (0.8 x raw rate) of CPU per message in all. Take out building and sending (what raw itself
// measured) and the sink, and what is left is the budget for everything else; the engine's use of
// it is measured alongside.
import { availableParallelism } from "node:os";
import type { RawResult } from "./engine.ts";

/** engine: ms of CPU of the engine's processes (workers, API, PostgreSQL, Redis); sink: the sink's. */
export function budget(raw: Pick<RawResult, "rate" | "buildCpu" | "sendCpu">, delivered: number, rawCount: number, used: { engine: number; sink: number }): void {
  const cores = availableParallelism();
  const us = (ms: number, n: number) => (ms / n) * 1000;
  const build = us(raw.buildCpu, rawCount);
  const send = us(raw.sendCpu, rawCount);
  const sink = us(used.sink, delivered);
  const all = (cores * 1e6) / (0.8 * raw.rate);
  const left = all - build - send - sink;
  const rest = us(used.engine, delivered) - build - send;
  console.log(
    `80% of raw on ${cores} cores allows ${all.toFixed(0)} µs of CPU per message in all: raw's building ${build.toFixed(0)}, its sending ${send.toFixed(0)} and the sink ${sink.toFixed(0)} µs leave ` +
      `${left.toFixed(0)} µs for everything else (fan-out, claim, consent, tracking, outcome, counters, queue, gate); this run used ${rest.toFixed(0)} µs for it`,
  );
}
