// The signed return path (VERP): every message leaves with envelope MAIL FROM
// bounces+<messageId>.<signature>@<RETURN_PATH_DOMAIN>, so a bounce, and an auto-reply that follows
// RFC 3834 (it answers the Return-Path), names its message without a lookup, and nobody can name a
// message of ours without the key. One HMAC per message on the send path, no query.
import { config } from "../../platform/config.ts";
import { returnPathMac, safeEqual } from "../../platform/secrets.ts";
import { senderDomain } from "../delivery/compose.ts";

const LOCAL_PREFIX = "bounces";
const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
/** Anywhere in a header or a text: bounces+<uuid>.<16 hex>@ (case folded by some MTAs). */
const FIND = new RegExp(`\\b${LOCAL_PREFIX}\\+(${UUID})\\.([0-9a-f]{16})@`, "gi");

export const returnPathDomain = () => config.RETURN_PATH_DOMAIN ?? senderDomain();

export function returnPath(messageId: string): string {
  return `${LOCAL_PREFIX}+${messageId}.${returnPathMac(messageId)}@${returnPathDomain()}`;
}

/** The message id of a correctly signed return-path address, else null. */
export function verifyReturnPath(address: string): string | null {
  const m = new RegExp(`^${LOCAL_PREFIX}\\+(${UUID})\\.([0-9a-f]{16})@`, "i").exec(address.trim());
  return m && validSignature(m[1], m[2]) ? m[1].toLowerCase() : null;
}

/** Message ids of every correctly signed return-path address in the text (forged ones are skipped). */
export function findReturnPaths(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(FIND)) if (validSignature(m[1], m[2])) out.add(m[1].toLowerCase());
  return [...out];
}

const validSignature = (id: string, sig: string) => safeEqual(returnPathMac(id.toLowerCase()), sig.toLowerCase());
