// Where the click redirector finds a message's original URLs without waiting for the database:
// written at composition to Redis (one pipeline per batch, kept LINK_TTL) and to messages.links (one
// statement per batch, the record). The redirector reads Redis; only a link older than the TTL
// costs a database read.
import { config } from "../../platform/config.ts";
import { pool } from "../../platform/prisma.ts";
import { redis } from "../../platform/redis.ts";
import { values } from "../../platform/sql.ts";

const LINK_TTL_S = 30 * 24 * 3600;
const key = (messageId: string) => `${config.QUEUE_PREFIX}:links:${messageId}`;

export async function saveLinks(batch: Array<{ messageId: string; links: string[] }>): Promise<void> {
  const withLinks = batch.filter((b) => b.links.length > 0);
  if (withLinks.length === 0) return;
  const p = redis().pipeline();
  for (const b of withLinks) p.set(key(b.messageId), JSON.stringify(b.links), "EX", LINK_TTL_S);
  const cached = p.exec().catch(() => null); // the database copy below is the fallback
  const v = values(withLinks.map((b) => [b.messageId, b.links]), ["::uuid", "::text[]"]);
  await pool.query(`UPDATE messages m SET links = v.links FROM (VALUES ${v.sql}) AS v(id, links) WHERE m.id = v.id`, v.params);
  await cached;
}

/** The original URL of link `index` of a message, or null when the message never contained it. */
export async function linkOf(messageId: string, index: number): Promise<string | null> {
  let links: string[] | null = null;
  try {
    const cached = await redis().get(key(messageId));
    if (cached) links = JSON.parse(cached) as string[];
  } catch {
    links = null;
  }
  if (!links) {
    const { rows } = await pool.query<{ links: string[] }>("SELECT links FROM messages WHERE id = $1::uuid", [messageId]);
    links = rows[0]?.links ?? [];
  }
  return index >= 0 && index < links.length ? links[index] : null;
}

/** Erasure: the cached links of a customer's messages go too (messages.links is cleared by erasure). */
export async function forgetCustomerLinks(customerId: string): Promise<void> {
  const { rows } = await pool.query<{ id: string }>("SELECT id FROM messages WHERE customer_id = $1::uuid", [customerId]);
  for (let i = 0; i < rows.length; i += 1000) await redis().unlink(...rows.slice(i, i + 1000).map((r) => key(r.id)));
}
