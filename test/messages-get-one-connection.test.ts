// GET /v1/messages/{id} reads the message, its events and its engagement in one snapshot, on one
// connection. Queries issued together on one pg client are deprecated (pg 8 queues them and warns
// once per process; pg 9 refuses them): the reads must go one after another. This file runs in a
// process of its own, so pg's once-per-process warning has not been spent by another file.
import { deprecate } from "node:util";
import { describe, expect, it } from "vitest";
import { createCustomer, createTemplate, createTopic, waitForStatus } from "./support/fixtures.ts";
import { useHarness } from "./support/harness.ts";

const warnings: string[] = [];
process.on("warning", (w) => warnings.push(`${w.name}: ${w.message}`));

const h = useHarness();

describe("GET /v1/messages/{id}: one query at a time on its connection", () => {
  it("when a message is read while it is delivered and after, then pg never sees two queries at once on the connection", async () => {
    // Precondition: deprecation warnings of this process reach the listener.
    deprecate(() => 1, "rapport probe", "RAPPORT_PROBE")();
    await new Promise((r) => setTimeout(r, 10));
    expect(warnings.some((w) => w.includes("rapport probe"))).toBe(true);

    const topic = await createTopic(h, "transactional", "Receipts");
    const tpl = await createTemplate(h, { subject: "Receipt", html: "<p>Thanks {{customer.name}}</p>" });
    const c = await createCustomer(h);
    const r = await h.api("POST", "/v1/messages", { to: { customerId: c.id }, template: tpl.key, topic: topic.key });
    expect(r.status, r.text).toBe(202);
    await waitForStatus(h, r.body.id, ["sent"]); // reads it until sent
    const got = await h.api("GET", `/v1/messages/${r.body.id}`);
    expect(got.status, got.text).toBe(200);
    expect(got.body.events.map((e: { type: string }) => e.type)).toContain("sent");

    await new Promise((r) => setTimeout(r, 10));
    expect(warnings.filter((w) => w.includes("client.query"))).toEqual([]);
  });
});
