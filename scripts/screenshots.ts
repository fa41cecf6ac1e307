// README screenshots: `npx tsx scripts/screenshots.ts` boots the engine on a throw-away demo
// database (DEMO_DATABASE_URL, default .../rapport_demo_screenshots), adds a little demo data, signs
// in with Chromium and writes docs/console-*.png. Pages that do not exist yet (the campaign page
// comes with campaigns) are skipped with a note.
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
  `INSERT INTO consent_events (customer_id, topic_id, channel, action, status, source, actor, created_at)
   SELECT c.id, (SELECT id FROM topics), 'email', a, a::"ConsentStatus", 'signup form', 'system', now() - random() * interval '6 days'
     FROM (SELECT id, CASE WHEN random() < 0.8 THEN 'opted_in' ELSE 'opted_out' END AS a FROM customers ORDER BY random() LIMIT 140) c`,
);

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
  const campaigns = await page.goto(`${base}/console/campaigns`);
  if (campaigns?.status() === 200) {
    await page.screenshot({ path: "docs/console-campaign.png" });
    console.log("wrote docs/console-campaign.png");
  } else console.log("no campaign page yet: docs/console-campaign.png not taken");
} finally {
  await browser.close();
  await close();
}
