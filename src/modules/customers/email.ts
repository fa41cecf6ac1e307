// Email normalisation: trim, lower-case the domain (the local part is case-sensitive by RFC 5321,
// but uniqueness and suppression compare case-insensitively: see addressKey).
import { z } from "zod";

export const emailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: "Invalid email address" }));

export function normaliseEmail(raw: string): string {
  const s = raw.trim();
  const at = s.lastIndexOf("@");
  if (at < 0) return s;
  return `${s.slice(0, at)}@${s.slice(at + 1).toLowerCase()}`;
}

/** What uniqueness and suppression compare: the whole address lower-cased. */
export const addressKey = (email: string) => normaliseEmail(email).toLowerCase();
