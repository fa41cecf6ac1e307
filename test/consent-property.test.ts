// Property: over random sequences of consent changes, address suppressions, erasures and sends (the
// send API and campaigns), the SMTP server receives exactly the emails the rules allow: a customer
// gets one email per send or campaign made while they are opted in, not suppressed and not erased.
// Each step waits until its messages are final, so the model's order is the engine's order. Small on
// purpose (few runs, short sequences): the seed is printed, FC_SEED=<n> replays a run.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createCampaign, waitCampaign } from "./support/campaigns.ts";
import { createPersona, createTemplate, createTopic, suppressAddress, waitForStatus } from "./support/fixtures.ts";
import { sink, useHarness } from "./support/harness.ts";
import { sleep } from "./support/wait.ts";

const h = useHarness();
const CUSTOMERS = 3;

type Step =
  | { kind: "consent"; who: number; status: "opted_in" | "opted_out" }
  | { kind: "suppress"; who: number }
  | { kind: "erase"; who: number }
  | { kind: "send"; who: number }
  | { kind: "campaign" };

const who = fc.integer({ min: 0, max: CUSTOMERS - 1 });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("consent" as const), who, status: fc.constantFrom("opted_in" as const, "opted_out" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("suppress" as const), who }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("erase" as const), who }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("send" as const), who }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("campaign" as const) }) },
);

interface Person {
  id: string;
  email: string;
  optedIn: boolean;
  suppressed: boolean;
  erased: boolean;
  expected: number;
}
const allowed = (p: Person) => p.optedIn && !p.suppressed && !p.erased;

async function run(world: { topic: string; template: string }, steps: Step[]): Promise<void> {
  const persona = (await createPersona(h)).key;
  const people: Person[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    const r = await h.api("POST", "/v1/customers", { email: `prop-${Math.random().toString(36).slice(2)}@example.com`, name: `P${i}`, persona });
    expect(r.status, r.text).toBe(201);
    people.push({ id: r.body.id, email: r.body.email, optedIn: false, suppressed: false, erased: false, expected: 0 });
  }
  for (const s of steps) {
    if (s.kind === "campaign") {
      const c = await createCampaign(h, { topic: world.topic, template: world.template, audience: { personas: [persona] } });
      expect((await h.api("POST", `/v1/campaigns/${c.id}/schedule`)).status).toBe(200);
      await waitCampaign(h, c.id, (x) => x.status === "completed" && x.counts.queued === 0);
      for (const p of people) if (allowed(p)) p.expected++;
      continue;
    }
    const p = people[s.who];
    if (s.kind === "consent") {
      const r = await h.api("PUT", `/v1/customers/${p.id}/consents/${world.topic}`, { status: s.status, source: "property", proof: "generated" });
      expect(r.status, r.text).toBe(p.erased ? 404 : 200);
      if (!p.erased) p.optedIn = s.status === "opted_in";
    } else if (s.kind === "suppress") {
      await suppressAddress(p.email, "manual");
      p.suppressed = true;
    } else if (s.kind === "erase") {
      const r = await h.api("DELETE", `/v1/customers/${p.id}`);
      expect(r.status, r.text).toBe(p.erased ? 404 : 204);
      p.erased = true;
    } else {
      const r = await h.api("POST", "/v1/messages", { to: { customerId: p.id }, template: world.template, topic: world.topic });
      // An erased customer's send is accepted and recorded as suppressed ("erased"), like the others.
      expect(r.status, r.text).toBe(202);
      const final = await waitForStatus(h, r.body.id, ["sent", "suppressed", "failed", "bounced"]);
      expect(final.status, `send to ${JSON.stringify({ ...p, id: undefined, email: undefined })}`).toBe(allowed(p) ? "sent" : "suppressed");
      if (allowed(p)) p.expected++;
    }
  }
  // Anything still on its way would arrive within moments: give it the chance before counting.
  await sleep(300);
  const got = people.map((p) => sink.to(p.email).length);
  expect(got, `emails per customer after ${JSON.stringify(steps)}`).toEqual(people.map((p) => p.expected));
}

describe("consent property", () => {
  it("when random consent changes, suppressions, erasures, sends and campaigns happen, then SMTP receives exactly the emails the rules allow", async () => {
    const topic = (await createTopic(h)).key;
    const template = (await createTemplate(h)).key;
    const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000);
    console.log(`[property] seed ${seed} (replay: FC_SEED=${seed})`);
    let runs = 0;
    let sends = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 10 }), async (steps) => {
        runs++;
        sends += steps.filter((s) => s.kind === "send" || s.kind === "campaign").length;
        await run({ topic, template }, steps);
      }),
      { seed, numRuns: Number(process.env.FC_RUNS ?? 25), endOnFailure: true },
    );
    console.log(`[property] ${runs} runs, ${sends} sends and campaigns, every email accounted for`);
    expect(runs).toBeGreaterThan(0);
  }, 120_000);
});
