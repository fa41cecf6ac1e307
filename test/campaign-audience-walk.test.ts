// The fan-out's keyset walk (modules/campaigns/audience.ts): customers are read by primary key in
// chunks, then filtered by the audience. Dense stretches fill pages (the next page starts after the
// last member), sparse ones give short or empty pages (the next page starts after the last customer
// read); either way every member comes exactly once, in id order, and nobody past the bound.
import { describe, expect, it } from "vitest";

const { useHarness } = await import("./support/harness.ts");
const f = await import("./support/fixtures.ts");
const { audiencePage, highestCustomerId } = await import("../src/modules/campaigns/audience.ts");

const h = useHarness({ workers: false });
const ZERO = "00000000-0000-0000-0000-000000000000";

describe("campaign audience walk", () => {
  it("when a persona's members are dense, then sparse, then absent, then pages of 2 reading 5 customers each find each member exactly once", async () => {
    const { key } = await f.createPersona(h);
    const { key: other } = await f.createPersona(h);
    const members: string[] = [];
    // Dense: every other customer; sparse: one in ten; then a stretch without members.
    for (let i = 0; i < 12; i++) {
      const c = await f.createCustomer(h, { persona: i % 2 === 0 ? key : other });
      if (i % 2 === 0) members.push(c.id);
    }
    for (let i = 0; i < 30; i++) {
      const c = await f.createCustomer(h, { persona: i % 10 === 9 ? key : other });
      if (i % 10 === 9) members.push(c.id);
    }
    const max = (await highestCustomerId())!;
    for (let i = 0; i < 8; i++) await f.createCustomer(h, { persona: other });
    const late = await f.createCustomer(h, { persona: key }); // past the bound: never in the walk

    const found: string[] = [];
    let after = ZERO;
    let full = 0;
    let empty = 0;
    for (let pages = 0; pages < 10_000; pages++) {
      const { members: page, next } = await audiencePage({ personas: [key] }, "00000000-0000-7000-8000-000000000000", { after, max }, 2, 5);
      if (next === null) break;
      if (page.length === 2) full++;
      if (page.length === 0) empty++;
      for (const m of page) expect(m.persona).toBe(key);
      found.push(...page.map((m) => m.id));
      expect(next > after).toBe(true);
      after = next;
    }
    // Preconditions: the walk met both kinds of page.
    expect(full).toBeGreaterThan(0);
    expect(empty).toBeGreaterThan(0);
    expect(found).toEqual(members);
    expect(found).not.toContain(late.id);
  }, 60_000);
});
