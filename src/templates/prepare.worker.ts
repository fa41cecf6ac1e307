// One preparation job at a time: parts in, a PreparedVersion or a serialised error out.
import { parentPort } from "node:worker_threads";
import { TemplateCompileError, TemplateTooComplexError } from "./errors.ts";
import { prepareVersion } from "./prepare.ts";
import type { TemplateParts } from "./validate.ts";

export type WorkerReply =
  | { ready: true }
  | { id: number; ok: true; value: ReturnType<typeof prepareVersion> }
  | { id: number; ok: false; error: SerialisedError };

export interface SerialisedError {
  kind: "compile" | "complex" | "other";
  message: string;
  position?: TemplateCompileError["position"];
  part?: string;
}

function serialise(err: unknown): SerialisedError {
  if (err instanceof TemplateCompileError) return { kind: "compile", message: err.message, position: err.position };
  if (err instanceof TemplateTooComplexError) return { kind: "complex", message: err.message, part: err.extra?.part as string | undefined };
  return { kind: "other", message: err instanceof Error ? err.message : String(err) };
}

const port = parentPort!;
port.on("message", ({ id, parts }: { id: number; parts: TemplateParts }) => {
  let reply: WorkerReply;
  try {
    reply = { id, ok: true, value: prepareVersion(parts) };
  } catch (err) {
    reply = { id, ok: false, error: serialise(err) };
  }
  port.postMessage(reply);
});
port.postMessage({ ready: true } satisfies WorkerReply);
