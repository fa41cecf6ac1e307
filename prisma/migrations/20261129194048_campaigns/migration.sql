-- CreateEnum
CREATE TYPE "CampaignStatus" AS ENUM ('draft', 'scheduled', 'running', 'paused', 'completed', 'canceled');

-- AlterTable
ALTER TABLE "campaigns" ADD COLUMN     "created_by" TEXT,
ADD COLUMN     "default_timezone" TEXT,
ADD COLUMN     "fanout_after" UUID,
ADD COLUMN     "fanout_done_at" TIMESTAMPTZ(3),
ADD COLUMN     "fanout_max_customer_id" UUID,
ADD COLUMN     "paused_reason" TEXT,
ADD COLUMN     "send_window_end" TEXT,
ADD COLUMN     "send_window_start" TEXT,
ALTER COLUMN "status" DROP DEFAULT;

-- Campaign status becomes an enum, converting existing rows in place.
ALTER TABLE "campaigns" ALTER COLUMN "status" TYPE "CampaignStatus" USING "status"::"CampaignStatus",
ALTER COLUMN "status" SET DEFAULT 'draft';

-- CreateTable
CREATE TABLE "campaign_stats" (
    "campaign_id" UUID NOT NULL,
    "persona" TEXT NOT NULL DEFAULT '',
    "bucket" TEXT NOT NULL,
    "shard" SMALLINT NOT NULL DEFAULT 0,
    "n" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "campaign_stats_pkey" PRIMARY KEY ("campaign_id","persona","bucket","shard")
);

-- AddForeignKey
ALTER TABLE "campaign_stats" ADD CONSTRAINT "campaign_stats_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Cancel and the fan-out look up a campaign's messages by status.
CREATE INDEX "messages_campaign_id_status_idx" ON "messages"("campaign_id", "status") WHERE "campaign_id" IS NOT NULL;

-- Campaign counters (campaign_stats) maintained by statement-level triggers on messages: whatever
-- statement inserts messages or changes their status or persona adjusts the counters in that same
-- statement, once per statement (transition tables), never per row. Buckets: `targeted` (every
-- inserted campaign message), `queued` (queued or sending), `sent`, `failed`, `bounced`,
-- `suppressed:<reason>`. Shards (backend pid mod 4) keep concurrent writers off one row.
-- Function bodies escape their semicolons as \073 (the migration runner splits at every semicolon).
CREATE OR REPLACE FUNCTION rapport_stat_bucket(s "MessageStatus", r text) RETURNS text LANGUAGE sql IMMUTABLE AS
E'SELECT CASE WHEN s IN (''queued'', ''sending'') THEN ''queued'' WHEN s = ''suppressed'' THEN ''suppressed:'' || COALESCE(r, ''unknown'') ELSE s::text END';

CREATE OR REPLACE FUNCTION rapport_campaign_stats() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  IF TG_OP = ''INSERT'' THEN
    INSERT INTO campaign_stats AS s (campaign_id, persona, bucket, shard, n)
    SELECT t.campaign_id, t.persona, t.bucket, (pg_backend_pid() % 4)::smallint, sum(t.d) FROM (
      SELECT n.campaign_id, COALESCE(n.persona_key, '''') AS persona, x.bucket, 1 AS d
        FROM new_rows n CROSS JOIN LATERAL (VALUES (''targeted''), (rapport_stat_bucket(n.status, n.reason))) x(bucket)
       WHERE n.campaign_id IS NOT NULL) t
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (campaign_id, persona, bucket, shard) DO UPDATE SET n = s.n + EXCLUDED.n\073
  ELSE
    INSERT INTO campaign_stats AS s (campaign_id, persona, bucket, shard, n)
    SELECT t.campaign_id, t.persona, t.bucket, (pg_backend_pid() % 4)::smallint, sum(t.d) FROM (
      SELECT o.campaign_id, COALESCE(o.persona_key, '''') AS persona, rapport_stat_bucket(o.status, o.reason) AS bucket, -1 AS d
        FROM old_rows o JOIN new_rows n ON n.id = o.id
       WHERE o.campaign_id IS NOT NULL
         AND (COALESCE(o.persona_key, ''''), rapport_stat_bucket(o.status, o.reason)) IS DISTINCT FROM (COALESCE(n.persona_key, ''''), rapport_stat_bucket(n.status, n.reason))
      UNION ALL
      SELECT n.campaign_id, COALESCE(n.persona_key, ''''), rapport_stat_bucket(n.status, n.reason), 1
        FROM old_rows o JOIN new_rows n ON n.id = o.id
       WHERE n.campaign_id IS NOT NULL
         AND (COALESCE(o.persona_key, ''''), rapport_stat_bucket(o.status, o.reason)) IS DISTINCT FROM (COALESCE(n.persona_key, ''''), rapport_stat_bucket(n.status, n.reason))) t
    GROUP BY 1, 2, 3 HAVING sum(t.d) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (campaign_id, persona, bucket, shard) DO UPDATE SET n = s.n + EXCLUDED.n\073
  END IF\073
  RETURN NULL\073
END\073';

CREATE TRIGGER messages_campaign_stats_insert AFTER INSERT ON "messages" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rapport_campaign_stats();

CREATE TRIGGER messages_campaign_stats_update AFTER UPDATE ON "messages" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rapport_campaign_stats();
