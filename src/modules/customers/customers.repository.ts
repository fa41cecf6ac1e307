import type { Prisma } from "../../generated/prisma/client.ts";
import { db } from "../../platform/prisma.ts";

export const customerInclude = {
  persona: { select: { key: true } },
  rulePersona: { select: { key: true } },
} satisfies Prisma.CustomerInclude;

export type CustomerRow = Prisma.CustomerGetPayload<{ include: typeof customerInclude }>;

/** Live (not erased) customer with its persona keys, or null. */
export function findLiveCustomer(id: string): Promise<CustomerRow | null> {
  return db.customer.findFirst({ where: { id, erasedAt: null }, include: customerInclude });
}

export async function personaIdByKey(key: string): Promise<string | null> {
  const p = await db.persona.findUnique({ where: { key }, select: { id: true } });
  return p?.id ?? null;
}

/** Customers in a persona: explicit members, plus rule members without an explicit persona. */
export function personaMembershipWhere(personaId: string): Prisma.CustomerWhereInput {
  return { OR: [{ personaId }, { personaId: null, rulePersonaId: personaId }] };
}
