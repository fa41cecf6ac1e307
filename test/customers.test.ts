import { describe, expect, it } from "vitest";
import { db, email, rid, useHarness } from "./support/harness.ts";

const h = useHarness({ workers: false });

describe("customers", () => {
  it("when a customer is created, then the email is trimmed with a lower-cased domain and duplicates are 409", async () => {
    const raw = email("Ann");
    const r = await h.api("POST", "/v1/customers", { email: `  ${raw} `, name: "Ann", timezone: "Europe/Paris", locale: "fr-FR", attributes: { plan: "pro", seats: 3 } });
    expect(r.status).toBe(201);
    const [local, domain] = raw.split("@");
    expect(r.body).toMatchObject({ email: `${local}@${domain.toLowerCase()}`, name: "Ann", persona: null, personaSource: null, attributes: { plan: "pro", seats: 3 } });
    expect((await h.api("POST", "/v1/customers", { email: raw })).status).toBe(409);
    const ext = rid("ext-");
    expect((await h.api("POST", "/v1/customers", { email: email(), externalId: ext })).status).toBe(201);
    expect((await h.api("POST", "/v1/customers", { email: email(), externalId: ext })).status).toBe(409);
  });

  it("when fields are invalid, then 400 names each path and no customer is created", async () => {
    const addr = email();
    const r = await h.api("POST", "/v1/customers", { email: addr.replace("@", ""), timezone: "Mars/Olympus", locale: "??", attributes: [], shoeSize: 44 });
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: any) => e.path)).toEqual(expect.arrayContaining(["email", "timezone", "locale", "attributes"]));
    expect(await db.customer.count({ where: { email: { contains: addr.split("@")[0] } } })).toBe(0);
  });

  it("when a customer is patched and listed by email, then the change shows and the cursor pages through", async () => {
    const tag = rid("p");
    // Its own persona, so paging walks only this test's rows while other files add thousands.
    expect((await h.api("POST", "/v1/personas", { key: tag, name: tag })).status).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await h.api("POST", "/v1/customers", { email: `${tag}-${i}@example.org`, attributes: { tag }, persona: tag })).body.id);
    const patched = await h.api("PATCH", `/v1/customers/${ids[0]}`, { name: "Renamed", timezone: "America/New_York" });
    expect(patched.body).toMatchObject({ name: "Renamed", timezone: "America/New_York" });
    const found = await h.api("GET", `/v1/customers?email=${encodeURIComponent(`${tag}-3@EXAMPLE.org`)}`);
    expect(found.body.data.map((c: any) => c.id)).toEqual([ids[3]]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await h.api("GET", `/v1/customers?persona=${tag}&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((c: any) => c.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids); // UUIDv7 ids: creation order, no duplicates, nothing missing
  });

  it("when an unknown or malformed id is requested, then 404 problem+json", async () => {
    expect((await h.api("GET", "/v1/customers/0190a4b2-0000-7000-8000-000000000000")).status).toBe(404);
    const r = await h.api("GET", "/v1/customers/not-an-id");
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ status: 404, title: "Not found" });
  });
});

describe("customers, identity", () => {
  it("when two emails differ only in case, then the second is a 409 duplicate", async () => {
    const tag = rid("case");
    expect((await h.api("POST", "/v1/customers", { email: `Bob.${tag}@example.com` })).status).toBe(201);
    expect((await h.api("POST", "/v1/customers", { email: `bob.${tag}@EXAMPLE.com` })).status).toBe(409);
  });

  it("when listing by email, then the match is exact: LIKE wildcards match nothing else", async () => {
    const tag = rid("w");
    const a = (await h.api("POST", "/v1/customers", { email: `a${tag}@example.com` })).body;
    await h.api("POST", "/v1/customers", { email: `ab${tag}@example.com` });
    expect((await h.api("GET", `/v1/customers?email=${encodeURIComponent(`_b${tag}@example.com`)}`)).body.data).toEqual([]);
    expect((await h.api("GET", `/v1/customers?email=${encodeURIComponent(`%${tag}@example.com`)}`)).body.data).toEqual([]);
    expect((await h.api("GET", `/v1/customers?email=${encodeURIComponent(`A${tag}@Example.com`)}`)).body.data.map((c: any) => c.id)).toEqual([a.id]);
  });

  it("when a customer is erased, then a later PATCH is 404 and writes nothing back", async () => {
    const c = (await h.api("POST", "/v1/customers", { email: email("gone") })).body;
    expect((await h.api("DELETE", `/v1/customers/${c.id}`)).status).toBe(204);
    expect((await h.api("PATCH", `/v1/customers/${c.id}`, { name: "Back again" })).status).toBe(404);
    expect(await db.customer.findUniqueOrThrow({ where: { id: c.id } })).toMatchObject({ name: null, email: null });
  });
});

describe("customers, timeline", () => {
  it("when a customer has consent changes and messages, then the timeline lists them newest first and the cursor walks it without gaps", async () => {
    const topic = rid("tl-");
    expect((await h.api("POST", "/v1/topics", { key: topic, name: "Timeline news", kind: "marketing" })).status).toBe(201);
    const tpl = rid("tl-");
    expect((await h.api("POST", "/v1/templates", { key: tpl, name: "T", subject: "Hi", html: "<p>Hi {{customer.name}}</p>" })).status).toBe(201);
    const c = (await h.api("POST", "/v1/customers", { email: email("tl"), name: "Tim" })).body;
    await h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_in", source: "signup" });
    const m = await h.api("POST", "/v1/messages", { to: { customerId: c.id }, template: tpl, topic });
    expect(m.status).toBe(202);
    await h.api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_out", source: "support" });

    const all = (await h.api("GET", `/v1/customers/${c.id}/timeline`)).body.data;
    // The message row shows its current status; its events (accepted, ...) are engagement entries.
    expect(all.map((e: any) => [e.kind, e.type])).toEqual([
      ["consent", "opted_out"],
      ["message", "queued"],
      ["engagement", "accepted"],
      ["consent", "opted_in"],
    ]);
    expect(all.find((e: any) => e.kind === "message")).toMatchObject({ messageId: m.body.id, topic, template: tpl });
    const times = all.map((e: any) => Date.parse(e.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const walked: unknown[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await h.api("GET", `/v1/customers/${c.id}/timeline?limit=1${cursor ? `&cursor=${cursor}` : ""}`);
      walked.push(...page.body.data);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(walked).toEqual(all);
  });

  it("when the timeline cursor was not written by the API, then 400 problem+json", async () => {
    const c = (await h.api("POST", "/v1/customers", { email: email("tlc") })).body;
    for (const raw of ["-005000-01-01T00:00:00Z|consent|1", "2026-01-01T00:00:00Z|nope|1", "garbage"]) {
      const r = await h.api("GET", `/v1/customers/${c.id}/timeline?cursor=${Buffer.from(raw).toString("base64url")}`);
      expect(r.status, raw).toBe(400);
      expect(r.headers.get("content-type")).toMatch(/application\/problem\+json/);
    }
  });
});

