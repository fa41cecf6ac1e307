// A build thread: batches of BuildInput in, MIME bytes out (moved, not copied, to the parent). The
// template versions come with the first batch that needs them; the parent tracks which it sent.
import { parentPort, workerData } from "node:worker_threads";
import { adoptSecretKeys, type Keys } from "../../platform/secrets.ts";
import { rememberPrepared } from "../../templates/compiled.ts";
import type { PreparedVersion } from "../../templates/prepare.ts";
import type { RenderTemplateVersion } from "../../templates/render.types.ts";
import { buildFrom, type BuildInput } from "./build.ts";

export interface BuildJob {
  id: number;
  /** The parent forgot what it sent: drop the versions held so far. */
  reset: boolean;
  versions: Array<{ template: RenderTemplateVersion; prepared: PreparedVersion }>;
  inputs: BuildInput[];
}

export type ThreadBuilt = { ok: true; raw: Uint8Array; variant: string | null; links: string[] } | { ok: false; error: string };

export interface BuildReply {
  id: number;
  results: ThreadBuilt[];
}

adoptSecretKeys((workerData as { keys: Keys }).keys);
const versions = new Map<string, RenderTemplateVersion>();
const port = parentPort!;

port.on("message", (job: BuildJob) => {
  if (job.reset) versions.clear();
  for (const v of job.versions) {
    rememberPrepared(v.template.id, v.prepared);
    versions.set(v.template.id, v.template);
  }
  const results: ThreadBuilt[] = [];
  const moved: ArrayBuffer[] = [];
  for (const input of job.inputs) {
    const b = buildFrom(versions, input);
    if (!b.ok) {
      results.push(b);
      continue;
    }
    // Its own ArrayBuffer (a small Buffer may share Node's pool), so that it can be moved.
    const raw = b.raw.byteOffset === 0 && b.raw.buffer.byteLength === b.raw.length ? b.raw : new Uint8Array(b.raw);
    moved.push(raw.buffer as ArrayBuffer);
    results.push({ ok: true, raw, variant: b.variant, links: b.links });
  }
  port.postMessage({ id: job.id, results } satisfies BuildReply, moved);
});
port.postMessage({ ready: true });
