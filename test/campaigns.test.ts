// Campaigns end to end against real PostgreSQL, Redis and an SMTP sink: the API's rules, audiences
// by persona, exactly the consenting members reached with their persona's variant, local time and
// send windows (send_at and the delayed wave jobs, without waiting hours), cancel and stats.
import { DateTime } from "luxon";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { pool, sink, startHarness, type Harness } from "./support/harness.ts";
import { campaignWorld, createCampaign, createTemplate, customerIn, waitCampaign } from "./support/campaigns.ts";
import { createTopic, setConsent, sleep } from "./support/fixtures.ts";
import { waitUntil } from "./support/wait.ts";
import { queue, QueueNames } from "../src/platform/queues.ts";
import { runFanout } from "../src/modules/campaigns/fanout.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());
// A test that failed while the workers were stopped must not leave them stopped for the next one.
afterEach(() => h.startWorkers());

const sendAts = async (campaignId: string) =>
  (await pool.query("SELECT customer_id, send_at, status FROM messages WHERE campaign_id = $1", [campaignId])).rows as Array<{ customer_id: string; send_at: Date; status: string }>;

async function waveJobs(campaignId: string) {
  const jobs = await queue(QueueNames.campaignFanout).getDelayed();
  return jobs.filter((j) => j.data.campaignId === campaignId).map((j) => j.timestamp + (j.opts.delay ?? 0));
}

describe("campaigns API", () => {
  it("when a campaign is created, edited and listed, then drafts change, invalid combinations are 400 with their path and only marketers and admins may", async () => {
    const w = await campaignWorld(h, 1);
    const marketer = await h.keyFor("marketer");
    const developer = await h.keyFor("developer");
    const base = { topic: w.topic.key, template: w.template, audience: { personas: w.personas } };
    expect((await h.api("POST", "/v1/campaigns", { name: "x", ...base }, { key: developer })).status).toBe(403);

    const bad = async (body: object, path: string) => {
      const r = await h.api("POST", "/v1/campaigns", { name: "x", ...base, ...body }, { key: marketer });
      expect(r.status, r.text).toBe(400);
      expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    };
    await bad({ defaultTimezone: "Europe/Berlin" }, "defaultTimezone");
    await bad({ localTime: "23:30", sendWindow: { start: "08:00", end: "21:00" } }, "localTime");
    await bad({ sendWindow: { start: "08:00", end: "08:00" } }, "sendWindow.end");
    await bad({ localTime: "25:00" }, "localTime");
    await bad({ defaultTimezone: "Mars/Olympus", localTime: "09:00" }, "defaultTimezone");
    await bad({ audience: {} }, "audience");
    const unknown = await h.api("POST", "/v1/campaigns", { name: "x", ...base, audience: { personas: ["no-such-persona"] } }, { key: marketer });
    expect(unknown.status, unknown.text).toBe(422);

    const c = await createCampaign(h, { ...base, localTime: "09:00", defaultTimezone: "Europe/Berlin" }, marketer);
    expect(c.status).toBe("draft");
    const p = await h.api("PATCH", `/v1/campaigns/${c.id}`, { name: "Renamed", sendWindow: { start: "08:00", end: "21:00" } }, { key: marketer });
    expect(p.status, p.text).toBe(200);
    expect(p.body).toMatchObject({ name: "Renamed", sendWindow: { start: "08:00", end: "21:00" }, localTime: "09:00" });
    const clash = await h.api("PATCH", `/v1/campaigns/${c.id}`, { localTime: "22:00" }, { key: marketer });
    expect(clash.status, clash.text).toBe(400);
    expect(clash.body.errors[0].path).toBe("localTime");

    const second = await createCampaign(h, base, marketer);
    // Newest first, one per page. Other files share the database and may create campaigns meanwhile:
    // walk the cursor until both of ours came, and check their order and that no page repeats one.
    const seen: string[] = [];
    let cursor: string | null = null;
    while (!seen.includes(c.id) && seen.length < 500) {
      const page: { status: number; text: string; body: { data: Array<{ id: string }>; nextCursor: string | null } } =
        await h.api("GET", `/v1/campaigns?limit=1${cursor ? `&cursor=${cursor}` : ""}`, undefined, { key: marketer });
      expect(page.status, page.text).toBe(200);
      expect(page.body.data).toHaveLength(1);
      seen.push(page.body.data[0].id);
      cursor = page.body.nextCursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toContain(second.id);
    expect(seen.indexOf(second.id)).toBeLessThan(seen.indexOf(c.id));

    await h.api("POST", `/v1/campaigns/${second.id}/cancel`, undefined, { key: marketer });
    const late = await h.api("PATCH", `/v1/campaigns/${second.id}`, { name: "too late" }, { key: marketer });
    expect(late.status).toBe(409);
  });

  it("when the template version lacks the unsubscribe link, then scheduling is refused with 422 and nothing is sent", async () => {
    const topic = await createTopic(h, "marketing");
    const tpl = await createTemplate(h, { html: '{{#*inline "footer"}}<p>no footer</p>{{/inline}}<p>Hello</p>' });
    const c = await customerIn(h, { consent: topic.key, attributes: { tier: "gold-422" } });
    const camp = await createCampaign(h, { topic: topic.key, template: tpl.key, audience: { rule: { attr: "tier", op: "eq", value: "gold-422" } } });
    const r = await h.api("POST", `/v1/campaigns/${camp.id}/schedule`);
    expect(r.status, r.text).toBe(422);
    expect(r.body.detail).toMatch(/unsubscribe link/);
    expect((await h.api("GET", `/v1/campaigns/${camp.id}`)).body.status).toBe("draft");
    await sleep(300);
    expect(sink.to(c.email)).toHaveLength(0);
  });
});

describe("campaign delivery", () => {
  it("when a campaign targets two of three personas, then exactly their consenting members get it, each with their variant, and stats count per persona", async () => {
    const w = await campaignWorld(h, 3);
    const [a, b, other] = w.personas;
    const yes = [await customerIn(h, { persona: a, consent: w.topic.key }), await customerIn(h, { persona: a, consent: w.topic.key }), await customerIn(h, { persona: b, consent: w.topic.key })];
    const noConsent = await customerIn(h, { persona: b });
    const outside = await customerIn(h, { persona: other, consent: w.topic.key });
    const camp = await createCampaign(h, { topic: w.topic.key, template: w.template, audience: { personas: [a, b] } });

    const preview = await h.api("GET", `/v1/campaigns/${camp.id}/audience`);
    expect(preview.body).toMatchObject({ total: 4, consenting: 3 });
    expect(preview.body.byPersona).toEqual(expect.arrayContaining([{ persona: a, total: 2, consenting: 2 }, { persona: b, total: 2, consenting: 1 }]));
    expect(preview.body.sample).toHaveLength(4);
    for (const c of [...yes, noConsent, outside]) expect(sink.to(c.email)).toHaveLength(0);

    const s = await h.api("POST", `/v1/campaigns/${camp.id}/schedule`);
    expect(s.status, s.text).toBe(200);
    const done = await waitCampaign(h, camp.id, (c) => c.status === "completed");
    for (const [i, c] of yes.entries()) {
      const mails = await sink.waitFor(c.email);
      expect(mails).toHaveLength(1);
      expect(mails[0].parsed.subject).toBe(`Variant ${i < 2 ? a : b}`);
    }
    await sleep(300);
    expect(sink.to(noConsent.email)).toHaveLength(0);
    expect(sink.to(outside.email)).toHaveLength(0);
    expect(done.counts).toMatchObject({ targeted: 4, queued: 0, sent: 3, suppressed: 1, suppressedByReason: { no_consent: 1 } });
    const stats = (await h.api("GET", `/v1/campaigns/${camp.id}/stats`)).body.data;
    expect(stats).toEqual(expect.arrayContaining([
      expect.objectContaining({ persona: a, targeted: 2, sent: 2 }),
      expect.objectContaining({ persona: b, targeted: 2, sent: 1, suppressed: 1 }),
    ]));
    // Scheduling again is a conflict; the campaign never reaches anyone twice.
    expect((await h.api("POST", `/v1/campaigns/${camp.id}/schedule`)).status).toBe(409);
  });

  it("when localTime is 09:00, then Tokyo, Berlin and New York (across its DST change) each get a send_at at their own 09:00 and one delayed wave per instant", async () => {
    const w = await campaignWorld(h, 1);
    const zones = ["Asia/Tokyo", "Europe/Berlin", "America/New_York"];
    const people = [];
    for (const tz of zones) for (let i = 0; i < 2; i++) people.push({ tz, ...(await customerIn(h, { persona: w.personas[0], timezone: tz, consent: w.topic.key })) });
    // 2027-03-14: the US changes to daylight time at 02:00 that morning; Europe does not until 03-28.
    const scheduledAt = "2027-03-14T00:00:00Z";
    const camp = await createCampaign(h, { topic: w.topic.key, template: w.template, audience: { personas: w.personas }, scheduledAt, localTime: "09:00" });
    await h.api("POST", `/v1/campaigns/${camp.id}/schedule`);
    await waitCampaign(h, camp.id, (c) => c.fanout.done);
    const rows = await sendAts(camp.id);
    expect(rows).toHaveLength(6);
    const expected: Record<string, string> = {
      "Asia/Tokyo": "2027-03-14T00:00:00.000Z", // 09:00 JST on the scheduled day is exactly the start
      "Europe/Berlin": "2027-03-14T08:00:00.000Z", // CET, UTC+1
      "America/New_York": "2027-03-14T13:00:00.000Z", // EDT, UTC-4 (it was UTC-5 the day before)
    };
    for (const p of people) {
      const r = rows.find((x) => x.customer_id === p.id)!;
      expect(r.send_at.toISOString()).toBe(expected[p.tz]);
      expect(DateTime.fromJSDate(r.send_at, { zone: p.tz }).toFormat("HH:mm")).toBe("09:00");
      expect(r.status).toBe("queued");
    }
    const waves = (await waveJobs(camp.id)).sort();
    expect(waves).toEqual(Object.values(expected).map((t) => new Date(t).getTime()).sort());
    for (const p of people) expect(sink.to(p.email)).toHaveLength(0);
    await h.api("POST", `/v1/campaigns/${camp.id}/cancel`);
  });

  it("when a recipient's local time is 23:00 and the window is 08:00-21:00, then they are held until 08:00 local", async () => {
    const w = await campaignWorld(h, 1);
    // A zone where it is 23:xx now: Etc/GMT-N is UTC+N.
    const now = DateTime.utc();
    let offset = (23 - now.hour + 24) % 24;
    if (offset > 14) offset -= 24;
    const zone = offset === 0 ? "UTC" : `Etc/GMT${offset > 0 ? "-" : "+"}${Math.abs(offset)}`;
    expect(DateTime.now().setZone(zone).hour).toBe(23);
    const c = await customerIn(h, { persona: w.personas[0], timezone: zone, consent: w.topic.key });
    const camp = await createCampaign(h, { topic: w.topic.key, template: w.template, audience: { personas: w.personas }, sendWindow: { start: "08:00", end: "21:00" } });
    await h.api("POST", `/v1/campaigns/${camp.id}/schedule`);
    await waitCampaign(h, camp.id, (x) => x.fanout.done);
    const [row] = await sendAts(camp.id);
    const local = DateTime.fromJSDate(row.send_at, { zone });
    expect(local.toFormat("HH:mm")).toBe("08:00");
    expect(row.send_at.getTime() - Date.now()).toBeGreaterThan(8 * 3600_000);
    expect(await waveJobs(camp.id)).toEqual([row.send_at.getTime()]);
    await sleep(500);
    expect(sink.to(c.email)).toHaveLength(0);
    await h.api("POST", `/v1/campaigns/${camp.id}/cancel`);
  });

  it("when a campaign with waiting messages is canceled, then they become suppressed/canceled and nothing is sent", async () => {
    const w = await campaignWorld(h, 1);
    const people = [await customerIn(h, { persona: w.personas[0], consent: w.topic.key }), await customerIn(h, { persona: w.personas[0], consent: w.topic.key })];
    const future = new Date(Date.now() + 3600_000).toISOString();
    const camp = await createCampaign(h, { topic: w.topic.key, template: w.template, audience: { personas: w.personas }, scheduledAt: future, localTime: "09:00", defaultTimezone: "UTC" });
    await h.api("POST", `/v1/campaigns/${camp.id}/schedule`);
    const before = await waitCampaign(h, camp.id, (x) => x.fanout.done);
    expect(before.counts.queued).toBe(2);
    const r = await h.api("POST", `/v1/campaigns/${camp.id}/cancel`);
    expect(r.body).toMatchObject({ status: "canceled", counts: { queued: 0, suppressed: 2, suppressedByReason: { canceled: 2 } } });
    const rows = await pool.query("SELECT status, reason FROM messages WHERE campaign_id = $1", [camp.id]);
    expect(rows.rows).toEqual([{ status: "suppressed", reason: "canceled" }, { status: "suppressed", reason: "canceled" }]);
    for (const p of people) expect(sink.to(p.email)).toHaveLength(0);
  });

  it("when consent is withdrawn after the fan-out but before delivery, then that recipient is suppressed at hand-off", async () => {
    const w = await campaignWorld(h, 1);
    const stay = await customerIn(h, { persona: w.personas[0], consent: w.topic.key });
    const leave = await customerIn(h, { persona: w.personas[0], consent: w.topic.key });
    const camp = await createCampaign(h, { topic: w.topic.key, template: w.template, audience: { personas: w.personas } });
    // Workers stopped: the fan-out runs here (the same use case the job runs), nothing is delivered yet.
    await h.stopWorkers();
    await h.api("POST", `/v1/campaigns/${camp.id}/schedule`);
    await runFanout(camp.id);
    const rows = await sendAts(camp.id);
    expect(rows.map((r) => r.status)).toEqual(["queued", "queued"]);
    await setConsent(h, leave.id, w.topic.key, "opted_out");
    h.startWorkers();
    const done = await waitCampaign(h, camp.id, (x) => x.status === "completed");
    await sink.waitFor(stay.email);
    expect(sink.to(leave.email)).toHaveLength(0);
    expect(done.counts).toMatchObject({ targeted: 2, sent: 1, suppressedByReason: { unsubscribed: 1 } });
  });

  it("when a campaign is throttled to 60 per minute, then its sends are spaced by its own bucket while a transactional message sent meanwhile arrives within 2 s", async () => {
    const w = await campaignWorld(h, 1);
    const people: Array<{ id: string; email: string }> = [];
    for (let i = 0; i < 6; i++) people.push(await customerIn(h, { persona: w.personas[0], consent: w.topic.key }));
    const tx = await createTopic(h, "transactional");
    const tpl = await createTemplate(h);
    const buyer = await customerIn(h, {});
    const camp = await createCampaign(h, { topic: w.topic.key, template: w.template, audience: { personas: w.personas }, rateLimitPerMinute: 60 });
    await h.api("POST", `/v1/campaigns/${camp.id}/schedule`);
    const got = () => people.filter((p) => sink.to(p.email).length > 0).length;
    while (got() === 0) await sleep(20);
    // While the campaign drains, a transactional message goes through the api lane.
    const sentAt = Date.now();
    const r = await h.api("POST", "/v1/messages", { to: { customerId: buyer.id }, template: tpl.key, topic: tx.key });
    expect(r.status, r.text).toBe(202);
    const [receipt] = await sink.waitFor(buyer.email, 1, 10_000);
    expect(receipt.at - sentAt).toBeLessThan(2000);
    expect(got()).toBeLessThan(6); // the campaign was still draining when the receipt arrived

    await waitCampaign(h, camp.id, (c) => c.status === "completed", 30_000);
    const times = people.map((p) => sink.to(p.email)[0].at).sort((a, b) => a - b);
    // One per second (timers and the GCRA burst blur each gap a little): six span about 5 s.
    expect(times[5] - times[0]).toBeGreaterThan(3500);
    for (let i = 1; i < 6; i++) expect(times[i] - times[i - 1]).toBeGreaterThan(500);
  });

  it("when more than 10% of a campaign's attempts fail, then the engine pauses it and says why", async () => {
    const w = await campaignWorld(h, 1);
    const people: Array<{ id: string; email: string }> = [];
    for (let i = 0; i < 40; i++) people.push(await customerIn(h, { persona: w.personas[0], consent: w.topic.key }));
    const camp = await createCampaign(h, { topic: w.topic.key, template: w.template, audience: { personas: w.personas }, rateLimitPerMinute: 600 });
    sink.failNext(554, "5.7.1 Rejected by policy", 15);
    await h.api("POST", `/v1/campaigns/${camp.id}/schedule`);
    const paused = await waitCampaign(h, camp.id, (c) => c.status === "paused", 30_000);
    expect(paused.pausedReason).toMatch(/^failure_rate: \d+ of the last \d+ attempts failed or bounced \(limit 10%\)$/);
    expect(paused.counts.failed).toBeGreaterThanOrEqual(3);
    expect(people.filter((p) => sink.to(p.email).length > 0).length).toBeLessThan(40);
    await h.api("POST", `/v1/campaigns/${camp.id}/cancel`);
  });

  it("when a failing campaign is canceled while the engine is auto-pausing it, then its hand-off stays stopped", async () => {
    const { pauseFailing } = await import("../src/modules/campaigns/ticker.ts");
    const { admitHandoff, gateEpoch } = await import("../src/platform/handoff-gate.ts");
    const w = await campaignWorld(h, 1);
    const c = await customerIn(h, { persona: w.personas[0], consent: w.topic.key });
    const camp = await createCampaign(h, { topic: w.topic.key, template: w.template, audience: { personas: w.personas } });
    await h.stopWorkers();
    // Running, with 25 failed attempts: over the failure rate.
    await pool.query("UPDATE campaigns SET status = 'running', started_at = now() WHERE id = $1::uuid", [camp.id]);
    const { rows: [m] } = await pool.query(
      `INSERT INTO messages (id, customer_id, topic_id, template_version_id, campaign_id, status, created_at, updated_at)
       SELECT gen_random_uuid(), $2::uuid, k.topic_id, k.template_version_id, k.id, 'failed', now(), now() FROM campaigns k WHERE k.id = $1::uuid
       RETURNING id, topic_id`, [camp.id, c.id]);
    await pool.query(
      "INSERT INTO message_events (message_id, customer_id, type, detail, created_at) SELECT $1::uuid, $2::uuid, 'failed', '554', now() FROM generate_series(1, 25)",
      [m.id, c.id]);
    // A marketer's cancel commits while the engine's auto-pause is between its stop mark and its status change.
    const cancel = await pool.connect();
    try {
      await cancel.query("BEGIN");
      await cancel.query("UPDATE campaigns SET status = 'canceled', completed_at = now() WHERE id = $1::uuid", [camp.id]);
      const pausing = pauseFailing();
      const waiting = async () => (await pool.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE campaigns SET status%'")).rows[0].n > 0;
      await waitUntil(waiting, "the auto-pause waiting for the campaign row", 10_000);
      await cancel.query("COMMIT");
      expect(await pausing).not.toContain(camp.id);
    } finally {
      cancel.release();
    }
    expect((await pool.query("SELECT status FROM campaigns WHERE id = $1::uuid", [camp.id])).rows[0].status).toBe("canceled");
    // A message of the campaign claimed before the cancel must not be admitted to SMTP.
    const gate = await admitHandoff({ messageId: m.id, customerId: c.id, topicId: m.topic_id, campaignId: camp.id, marketing: true }, await gateEpoch());
    gate.done();
    expect(gate.admission).toBe("stopped");
  });

  it("when a running campaign is paused, then nothing more reaches SMTP after 2 s (claimed messages too), and resume finishes it with no duplicate", async () => {
    const w = await campaignWorld(h, 1);
    const people: Array<{ id: string; email: string }> = [];
    for (let i = 0; i < 16; i++) people.push(await customerIn(h, { persona: w.personas[0], consent: w.topic.key }));
    // Two per second: the batch's messages are claimed and wait for their campaign slots.
    const camp = await createCampaign(h, { topic: w.topic.key, template: w.template, audience: { personas: w.personas }, rateLimitPerMinute: 120 });
    await h.api("POST", `/v1/campaigns/${camp.id}/schedule`);
    const got = () => people.reduce((n, p) => n + sink.to(p.email).length, 0);
    while (got() < 3) await sleep(20);
    const sending = (await pool.query("SELECT count(*)::int AS n FROM messages WHERE campaign_id = $1 AND status = 'sending'", [camp.id])).rows[0].n;
    expect(sending).toBeGreaterThan(0); // claimed, not yet handed over
    const r = await h.api("POST", `/v1/campaigns/${camp.id}/pause`);
    expect(r.status, r.text).toBe(200);
    const pausedAt = Date.now();
    await sleep(5000);
    // When the data arrived (not when this loaded test process got round to accepting it).
    const late = people.flatMap((p) => sink.to(p.email)).filter((m) => m.arrivedAt > pausedAt + 2000);
    expect(late).toHaveLength(0);
    expect(got()).toBeLessThan(16);

    await h.api("POST", `/v1/campaigns/${camp.id}/resume`);
    const done = await waitCampaign(h, camp.id, (c) => c.status === "completed", 60_000);
    expect(done.counts).toMatchObject({ targeted: 16, sent: 16, queued: 0 });
    for (const p of people) expect(sink.to(p.email)).toHaveLength(1);
  });
});
