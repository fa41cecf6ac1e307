// Keyset pagination: fetch limit+1 rows ordered by id, the cursor is the last id returned.
import { z } from "zod";
import { AppError } from "./errors.ts";
import { isUuid } from "./ids.ts";

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (!cursor) return undefined;
  const id = Buffer.from(cursor, "base64url").toString("utf8");
  if (!isUuid(id)) throw new AppError("validation", "The cursor is not valid", { errors: [{ path: "cursor", message: "Invalid cursor" }] });
  return id;
}

export function toPage<R extends { id: string }, T>(rows: R[], limit: number, map: (r: R) => T): Page<T> {
  const more = rows.length > limit;
  const slice = more ? rows.slice(0, limit) : rows;
  return {
    data: slice.map(map),
    nextCursor: more ? Buffer.from(slice[slice.length - 1].id).toString("base64url") : null,
  };
}

/** ?limit (1..500, default 50) and ?cursor: extend it for lists with filters. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});
