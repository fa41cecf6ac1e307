// The typed client (src/client): its committed types are what `npm run client:generate` makes now,
// and it drives the engine end to end.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generateClientTypes, SCHEMA_FILE } from "../scripts/client-generate.ts";
import { createRapportClient } from "../src/client/index.ts";
import { ADMIN_KEY, email, rid, sink, useHarness } from "./support/harness.ts";
import { waitUntil } from "./support/wait.ts";

const h = useHarness();

describe("typed client", () => {
  it("when the types are generated again, then they equal the committed src/client/schema.ts", async () => {
    const fresh = await generateClientTypes();
    expect(fresh.length).toBeGreaterThan(10_000);
    expect(readFileSync(SCHEMA_FILE, "utf8") === fresh, "src/client/schema.ts is stale: run npm run client:generate").toBe(true);
  });

  it("when a developer drives the engine through the client, then a topic, customer, consent and template lead to an email and a sent message", async () => {
    const rapport = createRapportClient({ baseUrl: h.baseUrl, apiKey: ADMIN_KEY });
    const s = rid();
    const addr = email("client");

    const topic = await rapport.POST("/v1/topics", { body: { key: `client_${s}`, name: "Client news", kind: "marketing" } });
    expect(topic.response.status).toBe(201);
    const customer = await rapport.POST("/v1/customers", { body: { email: addr, name: "Grace" } });
    expect(customer.data?.email).toBe(addr.toLowerCase());
    const cid = customer.data!.id;
    const consent = await rapport.PUT("/v1/customers/{id}/consents/{topicKey}", {
      params: { path: { id: cid, topicKey: `client_${s}` } },
      body: { status: "opted_in", source: "client-test", proof: "ticked the box" },
    });
    expect(consent.data?.status).toBe("opted_in");
    const template = await rapport.POST("/v1/templates", { body: { key: `client_${s}`, name: "Client", subject: "Hi {{customer.name}}", html: "<p>Hello {{customer.name}}</p>" } });
    expect(template.data?.version).toBe(1);

    const sent = await rapport.POST("/v1/messages", {
      params: { header: { "Idempotency-Key": `client-${s}` } },
      body: { to: { customerId: cid }, template: `client_${s}`, topic: `client_${s}` },
    });
    expect(sent.response.status).toBe(202);
    const id = sent.data!.id;
    await waitUntil(async () => (await rapport.GET("/v1/messages/{id}", { params: { path: { id } } })).data?.status === "sent", "the message sent");
    const read = await rapport.GET("/v1/messages/{id}", { params: { path: { id } } });
    expect(read.data).toMatchObject({ id, status: "sent", customerId: cid, topic: `client_${s}` });
    expect(read.data!.events.map((e) => e.type)).toContain("sent");
    const [mail] = await sink.waitFor(addr.toLowerCase());
    expect(mail.parsed.subject).toBe("Hi Grace");

    // Errors come back as typed RFC 9457 problems.
    const missing = await rapport.GET("/v1/customers/{id}", { params: { path: { id: "00000000-0000-7000-8000-000000000000" } } });
    expect(missing.response.status).toBe(404);
    expect(missing.response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(missing.error?.type).toBe("https://rapport.dev/problems/not-found");
  });
});
