// Signed, unguessable links for the public endpoints (no API key): unsubscribe, preference center,
// double opt-in confirmation. Tokens carry ids only, never PII. (Open and click tokens are compact
// binary ones: src/modules/engagement/tokens.ts.)
import { randomBytes } from "node:crypto";
import { config } from "../../platform/config.ts";
import { signToken, verifyToken, type TokenClaims } from "../../platform/secrets.ts";

export interface UnsubscribeClaims extends TokenClaims { p: "u"; c: string; t: string; m?: string }
/** `a`: the start of the customer's address hash when the link was sent; a changed address voids it. */
export interface PreferencesClaims extends TokenClaims { p: "p"; c: string; a: string }
/** `s`: when the consent became pending; a link confirms only the request it was sent for. */
export interface ConfirmClaims extends TokenClaims { p: "c"; c: string; t: string; s: number; j: string; exp: number }

const url = (path: string, token: string) => `${config.publicUrl}${path}/${token}`;

/** One-click unsubscribe from one topic (RFC 8058), optionally tied to the message that carried it. */
export const unsubscribeToken = (customerId: string, topicId: string, messageId?: string) =>
  signToken({ p: "u", c: customerId, t: topicId, ...(messageId ? { m: messageId } : {}) });
export const unsubscribeUrl = (customerId: string, topicId: string, messageId?: string) =>
  url("/u", unsubscribeToken(customerId, topicId, messageId));

// Bound to the address as well as the customer: after an address correction, whoever reads mail at
// the old address can no longer change the customer's subscriptions.
export const preferencesToken = (customerId: string, emailHash: string) => signToken({ p: "p", c: customerId, a: emailHash.slice(0, 16) });
export const preferencesUrl = (customerId: string, emailHash: string) => url("/preferences", preferencesToken(customerId, emailHash));

/** Single-use (jti recorded on use), expiring, and bound to one pending request. */
export function confirmUrl(customerId: string, topicId: string, pendingSince: Date, now = Date.now()) {
  const exp = Math.floor(now / 1000) + config.CONFIRM_TOKEN_TTL_HOURS * 3600;
  return url("/confirm", signToken({ p: "c", c: customerId, t: topicId, s: pendingSince.getTime(), j: randomBytes(12).toString("base64url"), exp }));
}


export const readUnsubscribe = (t: string) => verifyToken<UnsubscribeClaims>(t, "u");
export const readPreferences = (t: string) => verifyToken<PreferencesClaims>(t, "p");
export const readConfirm = (t: string) => verifyToken<ConfirmClaims>(t, "c");
