// README screenshots: `npx tsx scripts/screenshots.ts` boots the engine on a throw-away demo
// database (DEMO_DATABASE_URL, default .../rapport_demo_screenshots), adds a little demo data, signs
// in with Chromium and writes docs/console-dashboard.png and docs/console-campaign.png.
import { mkdirSync } from "node:fs";
import { launchBrowser } from "../test/support/browser.ts";
import { SCRATCH_ADMIN_KEY, startScratchEngine } from "./support/scratch-engine.ts";

const url = process.env.DEMO_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/rapport_demo_screenshots";
const { pool, base, close } = await startScratchEngine(url, "demo");
const { createPersona } = await import("../src/modules/personas/personas.service.ts");
const { createTemplate } = await import("../src/modules/templates/templates.service.ts");

// Demo data: 2,000 customers, two personas, a month of sends with a weekly rhythm, consent changes.
await pool.query(`INSERT INTO topics (id, key, name, kind, updated_at) VALUES (gen_random_uuid(), 'news', 'Weekly news', 'marketing', now())`);
await pool.query(
  `INSERT INTO customers (id, email, email_hash, name, attributes, updated_at)
   SELECT gen_random_uuid(), 'c' || i || '@demo.example', md5('c' || i), 'Customer ' || i, jsonb_build_object('plan', (ARRAY['free','pro'])[1 + i % 2]), now()
     FROM generate_series(1, 2000) i`,
);
await createPersona({ key: "pros", name: "Busy professionals", story: "Short on time, buy quality.", goals: ["save time"], rule: { attr: "plan", op: "eq", value: "pro" }, priority: 10 });
await createPersona({ key: "savers", name: "Careful savers", story: "Compare before they buy.", goals: ["good deals"], rule: { attr: "plan", op: "eq", value: "free" } });
const tpl = await createTemplate({ key: "weekly", name: "Weekly picks", subject: "Your picks, {{customer.name}}", html: "<p>Hello {{customer.name}}</p>" });
await pool.query(
  `INSERT INTO messages (id, customer_id, topic_id, template_version_id, status, created_at, sent_at, updated_at)
   SELECT gen_random_uuid(), c.id, (SELECT id FROM topics), $1::uuid, 'sent', s, s, s
     FROM customers c CROSS JOIN LATERAL (SELECT now() - (d || ' days')::interval AS s FROM generate_series(0, 29) d
                                          WHERE c.id IS NOT NULL AND random() < CASE WHEN extract(dow FROM now() - (d || ' days')::interval) IN (2, 4) THEN 0.5 ELSE 0.08 END) x`,
  [tpl.versionId],
);
await pool.query(
  // Demo rows only (one per customer): a random 32-byte hash satisfies the ledger's shape check; the
  // demo database is dropped and its chain never verified.
  `INSERT INTO consent_events (customer_id, topic_id, channel, action, status, source, actor, created_at, hash)
   SELECT c.id, (SELECT id FROM topics), 'email', a, a::"ConsentStatus", 'signup-form', 'system', now() - random() * interval '6 days',
          decode(md5(random()::text) || md5(random()::text), 'hex')
     FROM (SELECT id, CASE WHEN random() < 0.8 THEN 'opted_in' ELSE 'opted_out' END AS a FROM customers ORDER BY random() LIMIT 140) c`,
);

// A completed campaign of 1,200 messages sent over an hour, with engagement: the statuses go through
// the counters' triggers like real sends; engagement counters are written as the writer would.
const { createCampaign } = await import("../src/modules/campaigns/campaigns.service.ts");
const campaign = await createCampaign({ name: "Spring picks", topic: "news", template: "weekly", audience: { personas: ["pros", "savers"] } }, "demo");
await pool.query(
  `INSERT INTO messages (id, customer_id, topic_id, template_version_id, campaign_id, persona_key, status, created_at, updated_at)
   SELECT gen_random_uuid(), c.id, (SELECT id FROM topics), $1::uuid, $2::uuid, CASE WHEN c.attributes->>'plan' = 'pro' THEN 'pros' ELSE 'savers' END, 'queued', now() - interval '70 minutes', now()
     FROM customers c ORDER BY c.id LIMIT 1200`,
  [tpl.versionId, campaign.id],
);
await pool.query(
  `UPDATE messages SET status = 'sent', sent_at = now() - interval '65 minutes' + (random() * interval '50 minutes')
    WHERE campaign_id = $1 AND random() < 0.97`,
  [campaign.id],
);
await pool.query("UPDATE messages SET status = 'bounced' WHERE campaign_id = $1 AND status = 'sent' AND random() < 0.01", [campaign.id]);
await pool.query("UPDATE messages SET status = 'suppressed', reason = 'no_consent' WHERE campaign_id = $1 AND status = 'queued'", [campaign.id]);
await pool.query(
  `INSERT INTO campaign_stats (campaign_id, persona, bucket, n)
   SELECT $1::uuid, p, b, round(n * CASE b WHEN 'opened' THEN 0.31 WHEN 'clicked' THEN 0.07 WHEN 'machineOpened' THEN 0.22 WHEN 'machineClicked' THEN 0.02 ELSE 0.004 END)
     FROM (SELECT persona_key AS p, count(*) AS n FROM messages WHERE campaign_id = $1 AND status = 'sent' GROUP BY 1) s
    CROSS JOIN unnest(ARRAY['opened', 'clicked', 'machineOpened', 'machineClicked', 'unsubscribed']) b`,
  [campaign.id],
);
await pool.query(
  `INSERT INTO campaign_timeline (campaign_id, minute, bucket, n)
   SELECT $1::uuid, m, b, greatest(0, round((CASE b WHEN 'opened' THEN 9 ELSE 2 END) * exp(-extract(epoch FROM now() - m) / 1500.0) * (0.6 + random())))
     FROM generate_series(date_trunc('minute', now() - interval '60 minutes'), date_trunc('minute', now()), interval '1 minute') m
    CROSS JOIN unnest(ARRAY['opened', 'clicked']) b`,
  [campaign.id],
);
await pool.query(
  `INSERT INTO campaign_link_stats (campaign_id, url, clicks, machine_clicks) VALUES
     ($1, 'https://shop.example/spring/picks', 51, 6), ($1, 'https://shop.example/spring/sale', 23, 3), ($1, 'https://shop.example/account', 9, 1)`,
  [campaign.id],
);
await pool.query("UPDATE campaigns SET status = 'completed', scheduled_at = now() - interval '70 minutes', started_at = now() - interval '70 minutes', completed_at = now() - interval '14 minutes', fanout_done_at = now() - interval '69 minutes' WHERE id = $1", [campaign.id]);

const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  await page.goto(`${base}/console/sign-in`);
  await page.fill("#key", SCRATCH_ADMIN_KEY);
  await Promise.all([page.waitForURL(/\/console\/?$/), page.click("#sign-in")]);
  await page.waitForSelector(".uplot");
  mkdirSync("docs", { recursive: true });
  await page.screenshot({ path: "docs/console-dashboard.png" });
  console.log("wrote docs/console-dashboard.png");
  await page.goto(`${base}/console/campaigns/${campaign.id}`);
  await page.waitForSelector(".uplot");
  await page.screenshot({ path: "docs/console-campaign.png", fullPage: true });
  console.log("wrote docs/console-campaign.png");
} finally {
  await browser.close();
  await close();
}
