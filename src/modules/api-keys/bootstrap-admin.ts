// Development first start: with no RAPPORT_ADMIN_KEY and no admin key in the database, create one
// and show it once, so that `npm start` alone leads to a usable console. Processes starting together
// serialise on an advisory lock; the second finds the first one's key and creates none.
import { config } from "../../platform/config.ts";
import { db } from "../../platform/prisma.ts";
import { withSessionLock } from "../../platform/sql.ts";
import { createApiKey } from "./api-keys.service.ts";

const LOCK = 0x61646d6e; // "admn"

/** The new key, or null when there already was an admin key (or one is configured). */
export async function ensureDevAdminKey(): Promise<string | null> {
  if (config.NODE_ENV !== "development" || config.RAPPORT_ADMIN_KEY) return null;
  return withSessionLock(LOCK, async () => {
    const existing = await db.apiKey.count({ where: { role: "admin", revokedAt: null } });
    if (existing > 0) return null;
    return (await createApiKey({ name: "first admin (created on first start)", role: "admin" })).key;
  });
}
