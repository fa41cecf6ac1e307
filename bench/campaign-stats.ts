// Campaign stats at size: `npx tsx bench/campaign-stats.ts` (BENCH_MESSAGES=1000000).
//
// A campaign of BENCH_MESSAGES messages over four personas, written straight into its own database
// (generate_series in chunks of 100,000 rows; the counters in campaign_stats are maintained by the
// statement-level triggers exactly as when workers change statuses), then GET /v1/campaigns/{id} and
// GET /v1/campaigns/{id}/stats through a real API process, 20 times each: median, p95 and max.
// Target (issue: campaigns): reading stats stays under 50 ms for 1,000,000 messages.
import { startEngine } from "./lib/engine.ts";

const N = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const CHUNK = 100_000;

const engine = await startEngine();
const { pool } = await import("../src/platform/prisma.ts");
const { newId } = await import("../src/platform/ids.ts");
try {
  const t0 = performance.now();
  const topicId = newId();
  await pool.query("INSERT INTO topics (id, key, name, kind, created_at, updated_at) VALUES ($1, 'news', 'News', 'marketing', now(), now())", [topicId]);
  const templateId = newId();
  const versionId = newId();
  await pool.query("INSERT INTO templates (id, key, created_at) VALUES ($1, 'spring', now())", [templateId]);
  await pool.query(
    "INSERT INTO template_versions (id, template_id, version, name, subject, html, variants, created_at) VALUES ($1, $2, 1, 'S', 'S', '<p>S</p>', '[]', now())",
    [versionId, templateId],
  );
  const campaignId = newId();
  await pool.query(
    `INSERT INTO campaigns (id, name, topic_id, template_version_id, audience, status, created_at, updated_at, started_at, fanout_done_at)
     VALUES ($1, 'Big one', $2, $3, '{"personas":["saver","explorer","pro","family"]}', 'running', now(), now(), now(), now())`,
    [campaignId, topicId, versionId],
  );
  for (let i = 0; i < N; i += CHUNK) {
    const n = Math.min(CHUNK, N - i);
    // Customers and their messages in one statement (the messages' foreign keys are checked at its end).
    // Statuses as at the end of a campaign: 80% sent, 10% suppressed by reason, 5% failed, 3% bounced, 2% queued.
    await pool.query(
      `WITH x AS MATERIALIZED (SELECT gen_random_uuid() AS id, $4::int + g AS n FROM generate_series(1, $5::int) g),
            c AS (INSERT INTO customers (id, email, email_hash, attributes, created_at, updated_at)
                  SELECT id, 'big-' || n || '@bench.example', md5('big-' || n), '{}', now(), now() FROM x)
       INSERT INTO messages (id, customer_id, topic_id, template_version_id, campaign_id, persona_key, status, reason, created_at, updated_at)
       SELECT gen_random_uuid(), x.id, $1::uuid, $2::uuid, $3::uuid, (ARRAY['saver','explorer','pro','family'])[1 + (x.n % 4)],
              s.status::"MessageStatus", s.reason, now(), now()
         FROM x CROSS JOIN LATERAL (
           SELECT CASE WHEN x.n % 100 < 80 THEN 'sent' WHEN x.n % 100 < 90 THEN 'suppressed' WHEN x.n % 100 < 95 THEN 'failed'
                       WHEN x.n % 100 < 98 THEN 'bounced' ELSE 'queued' END AS status,
                  CASE WHEN x.n % 100 BETWEEN 80 AND 89 THEN (ARRAY['no_consent','unsubscribed','frequency_cap'])[1 + (x.n % 3)] END AS reason) s`,
      [topicId, versionId, campaignId, i, n],
    );
    process.stdout.write(`\rwritten ${i + n} of ${N} messages`);
  }
  console.log(`\nset-up: ${N} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s (database ${engine.dbName})`);
  await pool.query("ANALYZE");
  await engine.startApp("api");
  const time = async (path: string) => {
    const ms: number[] = [];
    let body: any;
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      const res = await fetch(`http://127.0.0.1:${engine.port}${path}`, { headers: { authorization: `Bearer ${engine.env.RAPPORT_ADMIN_KEY}` } });
      body = await res.json();
      ms.push(performance.now() - t);
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
    }
    ms.sort((a, b) => a - b);
    return { median: ms[10], p95: ms[18], max: ms[19], body };
  };
  const one = await time(`/v1/campaigns/${campaignId}`);
  const stats = await time(`/v1/campaigns/${campaignId}/stats`);
  const f = (x: { median: number; p95: number; max: number }) => `median ${x.median.toFixed(1)} ms, p95 ${x.p95.toFixed(1)} ms, max ${x.max.toFixed(1)} ms`;
  console.log(`GET /v1/campaigns/{id} (counts): ${f(one)}; counts ${JSON.stringify(one.body.counts)}`);
  console.log(`GET /v1/campaigns/{id}/stats (${stats.body.data.length} personas): ${f(stats)} (target: under 50 ms)`);
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await engine.close();
  process.exit();
}
