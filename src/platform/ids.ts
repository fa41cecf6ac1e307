import { randomFillSync } from "node:crypto";

// Random bytes are drawn from the CSPRNG 4 KB at a time (256 ids), as crypto.randomUUID does with
// its own cache: one randomBytes(16) per id cost ~2.5% of the send API's CPU.
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

/** UUIDv7 (RFC 9562): time-ordered, so keyset cursors follow creation order. */
export function newId(now = Date.now()): string {
  if (offset + 16 > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const b = Buffer.from(pool.subarray(offset, offset + 16));
  pool.fill(0, offset, offset + 16); // drawn bytes are not kept around
  offset += 16;
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => UUID.test(s);
