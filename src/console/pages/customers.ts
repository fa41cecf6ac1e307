// Customers: search (email, external id, persona) with keyset pages, and a profile with persona and
// why, consents, the consent ledger with its proof, and the timeline.
import type { Request, Response } from "express";
import { listConsentEvents, listConsents } from "../../modules/consent/consent.service.ts";
import { listCustomersQuery } from "../../modules/customers/customers.schema.ts";
import { getCustomer, listCustomers } from "../../modules/customers/customers.service.ts";
import { decodeTimelineCursor, timeline } from "../../modules/customers/timeline.repository.ts";
import { getPersona, personasByPriority } from "../../modules/personas/personas.service.ts";
import { AppError, notFound } from "../../platform/errors.ts";
import { isUuid } from "../../platform/ids.ts";
import { parseWith, str } from "../forms.ts";
import { renderPage } from "../views.ts";

const nav_current = "customers";
const PAGE = 50;

export async function search(req: Request, res: Response) {
  const q = str(req.query.q).trim().slice(0, 254);
  if (isUuid(q)) return res.redirect(303, `/console/customers/${q}`);
  const persona = str(req.query.persona);
  const cursor = str(req.query.cursor) || undefined;
  const personas = (await personasByPriority()).map((p) => ({ key: p.key, name: p.name, selected: p.key === persona }));
  let page: Awaited<ReturnType<typeof listCustomers>> = { data: [], nextCursor: null };
  let error: string | undefined;
  try {
    const filters = parseWith(listCustomersQuery, {
      limit: PAGE, cursor, persona: persona || undefined,
      ...(q.includes("@") ? { email: q } : q ? { externalId: q } : {}),
    });
    page = await listCustomers(filters);
  } catch (err) {
    if (!(err instanceof AppError) || err.status >= 500) throw err;
    error = err.message;
  }
  const next = page.nextCursor ? `/console/customers?${new URLSearchParams({ q, persona, cursor: page.nextCursor })}` : null;
  renderPage(res, "customers", { title: "Customers", nav_current, q, personas, customers: page.data, next, error, searched: Boolean(q || persona) });
}

export async function profile(req: Request, res: Response) {
  const id = String(req.params.id);
  if (!isUuid(id)) throw notFound("Customer", id.slice(0, 100));
  const cursor = str(req.query.cursor) || undefined;
  const c = await getCustomer(id);
  const [consents, ledger, tl, persona] = await Promise.all([
    listConsents(id),
    listConsentEvents(id),
    timeline(id, PAGE, decodeTimelineCursor(cursor)),
    c.persona ? getPersona(c.persona) : Promise.resolve(null),
  ]);
  const attributes = Object.entries(c.attributes ?? {}).map(([k, v]) => ({ k, v: typeof v === "string" ? v : JSON.stringify(v) }));
  const next = tl.nextCursor ? `/console/customers/${id}?cursor=${encodeURIComponent(tl.nextCursor)}#timeline` : null;
  renderPage(res, "customer", {
    title: c.name || c.email || "Customer", nav_current, c, attributes, persona, consents, ledger: [...ledger].reverse(), timeline: tl.data, next,
  });
}
