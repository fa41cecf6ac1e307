// Receiving an import: the body streams into import_chunks as it arrives (never whole in memory,
// never parsed here), checked on the way by upload-scan.ts. The job parses it (materialise.ts).
import { config } from "../../platform/config.ts";
import { AppError } from "../../platform/errors.ts";
import { newId } from "../../platform/ids.ts";
import { enqueue, QueueNames } from "../../platform/queues.ts";
import * as repo from "./imports.repository.ts";
import { MAX_IMPORT_ROWS } from "./imports.schema.ts";
import { csvScanner, jsonScanner } from "./upload-scan.ts";

/** Bytes per stored chunk: few enough rows, large enough that a 16 MB file is 64 inserts. */
const CHUNK_BYTES = 256 * 1024;

const tooLarge = () => new AppError("payload_too_large", `The import body is larger than ${config.BODY_LIMIT}`);

/**
 * Streams one upload into a new import and queues its job. `body` is consumed with backpressure:
 * the next bytes are read only once the previous chunk is stored. On any refusal or failure (also a
 * client that goes away) the import and its chunks are deleted: nothing is left behind.
 */
export async function receiveImport(
  format: repo.ImportFormat,
  body: AsyncIterable<Buffer>,
  opts: { actor: string; contentLength?: number },
): Promise<{ id: string; status: repo.ImportStatus }> {
  const limit = config.bodyLimitBytes;
  if (opts.contentLength !== undefined && opts.contentLength > limit) throw tooLarge();
  const scanner = format === "csv" ? csvScanner() : jsonScanner();
  const id = newId();
  // The import row is written with the first chunk: a body refused early (a bad CSV header, a
  // small malformed file) never reaches the database.
  let inserted = false;
  try {
    let size = 0;
    let seq = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      // Past the row limit the rest is only counted (for the 413's message), not stored.
      if (pendingBytes === 0 || scanner.rows > MAX_IMPORT_ROWS) return void ((pending = []), (pendingBytes = 0));
      if (!inserted) {
        await repo.insertReceiving({ id, format, actor: opts.actor });
        inserted = true;
      }
      await repo.appendChunk(id, seq++, Buffer.concat(pending));
      pending = [];
      pendingBytes = 0;
    };
    for await (const chunk of body) {
      size += chunk.length;
      if (size > limit) throw tooLarge();
      scanner.push(chunk);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= CHUNK_BYTES) await flush();
    }
    const total = scanner.end();
    await flush();
    await repo.markReceived(id, total);
    await enqueue(QueueNames.customerImport, [{ id: `import-${id}`, data: { importId: id } }]);
    return { id, status: "queued" };
  } catch (err) {
    if (inserted) await repo.deleteImport(id).catch(() => undefined); // nothing would ever process it
    throw err;
  }
}
