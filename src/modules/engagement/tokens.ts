// Compact signed tracking tokens: base64url(kind | message id (16 bytes) | link index (int16) | MAC).
// 39 characters for an open, 42 for a click; the MAC (96 bits of HMAC-SHA256) is checked in
// constant time. A click token names a link by its index in messages.links; -1 is the honeypot.
import { config } from "../../platform/config.ts";
import { safeEqualBytes, shortMac } from "../../platform/secrets.ts";

const OPEN = 0x6f; // "o"
const CLICK = 0x63; // "c"
const MAC_BYTES = 12;
export const HONEYPOT = -1;

const uuidBytes = (id: string) => Buffer.from(id.replace(/-/g, ""), "hex");
const uuidString = (b: Buffer) => {
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

function sign(payload: Buffer): string {
  return Buffer.concat([payload, shortMac(payload, MAC_BYTES)]).toString("base64url");
}

export const openToken = (messageId: string) => sign(Buffer.concat([Buffer.of(OPEN), uuidBytes(messageId)]));

export function clickToken(messageId: string, index: number): string {
  const i = Buffer.alloc(2);
  i.writeInt16BE(index);
  return sign(Buffer.concat([Buffer.of(CLICK), uuidBytes(messageId), i]));
}

export const openUrl = (messageId: string) => `${config.publicUrl}/t/o/${openToken(messageId)}`;
export const clickUrl = (messageId: string, index: number) => `${config.publicUrl}/t/c/${clickToken(messageId, index)}`;

export type TrackingClaims = { kind: "open"; messageId: string } | { kind: "click"; messageId: string; index: number };

/** The claims of a valid token of the expected kind; null for anything tampered, truncated or foreign. */
export function readTrackingToken(token: string, kind: "open" | "click"): TrackingClaims | null {
  if (typeof token !== "string" || token.length > 64 || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
  const raw = Buffer.from(token, "base64url");
  // Only the canonical spelling: Node ignores a last character's spare bits, so "…A" and "…B" could
  // both decode to the same bytes.
  if (raw.toString("base64url") !== token) return null;
  const size = kind === "open" ? 17 : 19;
  if (raw.length !== size + MAC_BYTES || raw[0] !== (kind === "open" ? OPEN : CLICK)) return null;
  const payload = raw.subarray(0, size);
  if (!safeEqualBytes(shortMac(payload, MAC_BYTES), raw.subarray(size))) return null;
  const messageId = uuidString(payload.subarray(1, 17));
  return kind === "open" ? { kind, messageId } : { kind, messageId, index: payload.readInt16BE(17) };
}
