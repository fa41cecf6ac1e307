// Test data for the send pipeline, through the API (suppressions, which have no route, directly).
import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import { pool } from "../../src/platform/prisma.ts";
import { addressHash } from "../../src/platform/secrets.ts";
import { addressKey } from "../../src/modules/customers/email.ts";
import type { Harness } from "./harness.ts";

const rnd = (p: string) => `${p}${randomBytes(5).toString("hex")}`;

export async function createTopic(h: Harness, kind: "marketing" | "transactional" = "marketing", name = "Weekly news") {
  const key = rnd(`${kind.slice(0, 3)}-`);
  const r = await h.api("POST", "/v1/topics", { key, name, kind });
  expect(r.status, r.text).toBe(201);
  return r.body as { id: string; key: string; kind: string; name: string };
}

export async function createPersona(h: Harness, opts: { key?: string; name?: string } = {}) {
  const key = opts.key ?? rnd("p-");
  const r = await h.api("POST", "/v1/personas", { key, name: opts.name ?? `Persona ${key}`, goals: ["save time"] });
  expect(r.status, r.text).toBe(201);
  return { key };
}

export async function createCustomer(h: Harness, opts: { persona?: string; name?: string; email?: string } = {}) {
  const email = opts.email ?? `c-${randomBytes(6).toString("hex")}@Example.COM`;
  const r = await h.api("POST", "/v1/customers", { email, name: opts.name ?? "Ada Lovelace", ...(opts.persona ? { persona: opts.persona } : {}) });
  expect(r.status, r.text).toBe(201);
  return { id: r.body.id as string, email: r.body.email as string };
}

export async function setConsent(h: Harness, customerId: string, topicKey: string, status: "opted_in" | "opted_out") {
  const r = await h.api("PUT", `/v1/customers/${customerId}/consents/${topicKey}`, { status, source: "test", proof: "form v1" });
  expect(r.status, r.text).toBe(200);
  return r.body;
}

export interface TemplateSpec {
  subject?: string;
  html?: string;
  text?: string;
  variants?: Array<{ persona: string; subject?: string; html?: string; text?: string }>;
}

const content = (spec: TemplateSpec) => ({
  subject: spec.subject ?? "Hello {{customer.name}}",
  html: spec.html ?? "<p>Hi {{customer.name}}, {{data.note}}</p>",
  ...(spec.text ? { text: spec.text } : {}),
  ...(spec.variants ? { variants: spec.variants } : {}),
});

/** A template with one version (the layout adds the unsubscribe link and the postal address). */
export async function createTemplate(h: Harness, spec: TemplateSpec = {}) {
  const key = rnd("tpl-");
  const r = await h.api("POST", "/v1/templates", { key, name: "Test template", ...content(spec) });
  expect(r.status, r.text).toBe(201);
  return { key };
}

export async function addTemplateVersion(h: Harness, key: string, spec: TemplateSpec = {}) {
  const r = await h.api("POST", `/v1/templates/${key}/versions`, content(spec));
  expect(r.status, r.text).toBe(201);
  return r.body.version as number;
}

export async function suppressAddress(email: string, reason = "manual") {
  await pool.query("INSERT INTO suppressions (address_hash, reason, created_at) VALUES ($1, $2, now()) ON CONFLICT DO NOTHING", [
    addressHash(addressKey(email)), reason,
  ]);
}

export async function isSuppressed(email: string): Promise<boolean> {
  const { rowCount } = await pool.query("SELECT 1 FROM suppressions WHERE address_hash = $1", [addressHash(addressKey(email))]);
  return (rowCount ?? 0) > 0;
}

/** Polls GET /v1/messages/{id} until its status is one of `statuses`. */
export async function waitForStatus(h: Harness, id: string, statuses: string[], timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < until) {
    last = await h.api("GET", `/v1/messages/${id}`);
    if (statuses.includes(last.body?.status)) return last.body;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`message ${id} did not reach ${statuses.join("|")}; last: ${JSON.stringify(last?.body)}`);
}

import { sleep } from "./wait.ts";
export { sleep };

/**
 * n new customers opted in to the topic in one JSON import (processed here, so workers may be
 * stopped): much cheaper than 2n API calls when a test needs hundreds.
 */
export async function importOptedIn(h: Harness, topicKey: string, n: number, attributes?: Record<string, unknown>) {
  const emails = Array.from({ length: n }, () => `c-${randomBytes(6).toString("hex")}@example.com`);
  const r = await h.api("POST", "/v1/customers/import", {
    customers: emails.map((email) => ({ email, name: "Ada", ...(attributes ? { attributes } : {}), consents: [{ topic: topicKey, status: "opted_in", source: "test", proof: "form v1" }] })),
  });
  expect(r.status, r.text).toBe(202);
  const { processImport } = await import("../../src/modules/imports/imports.service.ts");
  await processImport(r.body.id);
  // A worker may hold the same import's job: it is done when the import says so.
  for (let until = Date.now() + 60_000; Date.now() < until; await sleep(50)) {
    if ((await h.api("GET", `/v1/imports/${r.body.id}`)).body.status === "completed") break;
  }
  const { rows } = await pool.query<{ id: string; email: string }>("SELECT id, email FROM customers WHERE email = ANY($1::text[])", [emails]);
  expect(rows).toHaveLength(n);
  const byEmail = new Map(rows.map((x) => [x.email, x.id]));
  return emails.map((email) => ({ id: byEmail.get(email)!, email }));
}
