// Customers: who we talk to. Email is normalised and unique; the keyed email hash links the
// customer to the suppression list without plaintext; erasure keeps only pseudonymous traces.
import { AppError, conflict, isUniqueViolation, notFound, uniqueViolationTarget } from "../../platform/errors.ts";
import { decodeCursor, toPage } from "../../platform/pagination.ts";
import { db } from "../../platform/prisma.ts";
import { addressHash, newDataKey } from "../../platform/secrets.ts";
import { refreshRulePersonas } from "../personas/persona-assignment.ts";
import { addressKey, normaliseEmail } from "./email.ts";
import type { CreateCustomer, UpdateCustomer } from "./customers.schema.ts";
import {
  customerInclude, findLiveCustomer, personaIdByKey, personaMembershipWhere, type CustomerRow,
} from "./customers.repository.ts";

export function customerView(c: CustomerRow) {
  const persona = c.persona?.key ?? c.rulePersona?.key ?? null;
  return {
    id: c.id,
    email: c.email,
    externalId: c.externalId,
    name: c.name,
    locale: c.locale,
    timezone: c.timezone,
    attributes: c.attributes as Record<string, unknown>,
    persona,
    personaSource: c.persona ? "explicit" : c.rulePersona ? "rule" : null,
    // The customer's own cadence and pause of marketing (PUT /v1/customers/{id}/cadence).
    cadence: c.cadence,
    pausedUntil: c.pausedUntil && c.pausedUntil.getTime() > Date.now() ? c.pausedUntil.toISOString() : null,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}
export type CustomerView = ReturnType<typeof customerView>;

async function requirePersonaId(key: string): Promise<string> {
  const id = await personaIdByKey(key);
  if (!id) throw new AppError("unprocessable", `Persona '${key}' does not exist`, { errors: [{ path: "persona", message: "Unknown persona" }] });
  return id;
}

function duplicate(err: unknown): never {
  if (isUniqueViolation(err)) {
    const t = uniqueViolationTarget(err).join(",");
    throw conflict(/external/i.test(t) ? "A customer with this externalId already exists" : "A customer with this email already exists");
  }
  throw err;
}

export async function requireCustomer(id: string): Promise<CustomerRow> {
  const c = await findLiveCustomer(id);
  if (!c) throw notFound("Customer", id);
  return c;
}

export async function createCustomer(input: CreateCustomer): Promise<CustomerView> {
  const email = normaliseEmail(input.email);
  const personaId = input.persona ? await requirePersonaId(input.persona) : null;
  const created = await db.customer
    .create({
      data: {
        email,
        emailHash: addressHash(addressKey(email)),
        externalId: input.externalId ?? null,
        name: input.name ?? null,
        locale: input.locale ?? null,
        timezone: input.timezone ?? null,
        attributes: (input.attributes ?? {}) as object,
        personaId,
        dataKey: newDataKey(),
      },
    })
    .catch(duplicate);
  await refreshRulePersonas([created.id]);
  return customerView(await requireCustomer(created.id));
}

export async function getCustomer(id: string): Promise<CustomerView> {
  return customerView(await requireCustomer(id));
}

export async function updateCustomer(id: string, input: UpdateCustomer): Promise<CustomerView> {
  const email = input.email !== undefined ? normaliseEmail(input.email) : undefined;
  const personaId = input.persona === undefined ? undefined : input.persona === null ? null : await requirePersonaId(input.persona);
  // Conditional on "not erased" in the same statement: an erasure committed meanwhile must not get
  // personal data written back onto its row.
  const { count } = await db.customer
    .updateMany({
      where: { id, erasedAt: null },
      data: {
        ...(email !== undefined ? { email, emailHash: addressHash(addressKey(email)) } : {}),
        ...(input.externalId !== undefined ? { externalId: input.externalId } : {}),
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.locale !== undefined ? { locale: input.locale } : {}),
        ...(input.timezone !== undefined ? { timezone: input.timezone } : {}),
        ...(input.attributes !== undefined ? { attributes: input.attributes as object } : {}),
        ...(personaId !== undefined ? { personaId } : {}),
        updatedAt: new Date(),
      },
    })
    .catch(duplicate);
  if (count === 0) throw notFound("Customer", id);
  if (input.attributes !== undefined) await refreshRulePersonas([id]);
  return customerView(await requireCustomer(id));
}

export async function listCustomers(q: { email?: string; externalId?: string; persona?: string; limit: number; cursor?: string }) {
  const after = decodeCursor(q.cursor);
  let personaFilter = {};
  if (q.persona) {
    const pid = await personaIdByKey(q.persona);
    if (!pid) return { data: [], nextCursor: null };
    personaFilter = personaMembershipWhere(pid);
  }
  const rows = await db.customer.findMany({
    where: {
      erasedAt: null,
      // Exact, case-insensitive and indexed: through the keyed hash, never a pattern match.
      ...(q.email ? { emailHash: addressHash(addressKey(q.email)) } : {}),
      ...(q.externalId ? { externalId: q.externalId } : {}),
      ...personaFilter,
      ...(after ? { id: { gt: after } } : {}),
    },
    include: customerInclude,
    orderBy: { id: "asc" },
    take: q.limit + 1,
  });
  return toPage(rows, q.limit, customerView);
}
