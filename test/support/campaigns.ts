// Campaign test data through the API: personas, customers with timezones and consent, templates
// with one variant per persona, and helpers to wait for a campaign's state.
import { expect } from "vitest";
import { createPersona, createTemplate, createTopic, setConsent, sleep } from "./fixtures.ts";
import type { Harness } from "./harness.ts";

export async function customerIn(h: Harness, opts: { persona?: string; timezone?: string; consent?: string; attributes?: object }) {
  const body = {
    email: `c-${Math.random().toString(36).slice(2)}@example.com`, name: "Camp Aigner",
    ...(opts.persona ? { persona: opts.persona } : {}), ...(opts.timezone ? { timezone: opts.timezone } : {}),
    ...(opts.attributes ? { attributes: opts.attributes } : {}),
  };
  const r = await h.api("POST", "/v1/customers", body);
  expect(r.status, r.text).toBe(201);
  if (opts.consent) await setConsent(h, r.body.id, opts.consent, "opted_in");
  return { id: r.body.id as string, email: r.body.email as string };
}

/** A marketing topic, `n` personas and a template with a variant per persona ("variant <key>"). */
export async function campaignWorld(h: Harness, n: number) {
  const topic = await createTopic(h, "marketing", "Campaign news");
  const personas = [];
  for (let i = 0; i < n; i++) personas.push((await createPersona(h)).key);
  const tpl = await createTemplate(h, {
    subject: "Default", html: "<p>Default for {{customer.name}}</p>",
    variants: personas.map((p) => ({ persona: p, subject: `Variant ${p}`, html: `<p>variant ${p}</p>` })),
  });
  return { topic, personas, template: tpl.key };
}

export async function createCampaign(h: Harness, body: Record<string, unknown>, key?: string) {
  const r = await h.api("POST", "/v1/campaigns", { name: "Spring sale", ...body }, { key });
  expect(r.status, r.text).toBe(201);
  return r.body as { id: string; status: string };
}

export async function waitCampaign(h: Harness, id: string, pred: (c: any) => boolean, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < until) {
    last = (await h.api("GET", `/v1/campaigns/${id}`)).body;
    if (pred(last)) return last;
    await sleep(100);
  }
  throw new Error(`campaign ${id} did not reach the expected state; last: ${JSON.stringify(last)}`);
}

export { createTopic, createTemplate, sleep };
