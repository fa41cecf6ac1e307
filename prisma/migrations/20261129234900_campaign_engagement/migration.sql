-- CreateTable
CREATE TABLE "campaign_timeline" (
    "campaign_id" UUID NOT NULL,
    "minute" TIMESTAMPTZ(3) NOT NULL,
    "bucket" TEXT NOT NULL,
    "shard" SMALLINT NOT NULL DEFAULT 0,
    "n" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "campaign_timeline_pkey" PRIMARY KEY ("campaign_id","minute","bucket","shard")
);

-- CreateTable
CREATE TABLE "campaign_link_stats" (
    "campaign_id" UUID NOT NULL,
    "url" TEXT NOT NULL,
    "shard" SMALLINT NOT NULL DEFAULT 0,
    "clicks" BIGINT NOT NULL DEFAULT 0,
    "machine_clicks" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "campaign_link_stats_pkey" PRIMARY KEY ("campaign_id","url","shard")
);

-- AddForeignKey
ALTER TABLE "campaign_timeline" ADD CONSTRAINT "campaign_timeline_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "campaign_link_stats" ADD CONSTRAINT "campaign_link_stats_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Messages sent per minute of each campaign (the campaign page's chart), kept by a statement-level
-- trigger like campaign_stats: one insert per statement, for the rows that became `sent`.
-- Function bodies escape their semicolons as \073 (the migration runner splits at every semicolon).
CREATE OR REPLACE FUNCTION rapport_campaign_timeline_sent() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  INSERT INTO campaign_timeline AS s (campaign_id, minute, bucket, shard, n)
  SELECT n.campaign_id, date_trunc(''minute'', COALESCE(n.sent_at, now())), ''sent'', (pg_backend_pid() % 4)::smallint, count(*)
    FROM old_rows o JOIN new_rows n ON n.id = o.id
   WHERE n.campaign_id IS NOT NULL AND n.status = ''sent'' AND o.status <> ''sent''
   GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (campaign_id, minute, bucket, shard) DO UPDATE SET n = s.n + EXCLUDED.n\073
  RETURN NULL\073
END\073';

CREATE TRIGGER messages_campaign_timeline AFTER UPDATE ON "messages" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rapport_campaign_timeline_sent();

-- Unsubscribes of campaign messages: bucket `unsubscribed` of campaign_stats, counted as their
-- message events are written (one per message: the unsubscribe use case writes it once). Complaints
-- are counted by the inbound module when it writes a message's first complaint.
CREATE OR REPLACE FUNCTION rapport_campaign_reactions() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  INSERT INTO campaign_stats AS s (campaign_id, persona, bucket, shard, n)
  SELECT m.campaign_id, COALESCE(m.persona_key, ''''), e.type, (pg_backend_pid() % 4)::smallint, count(*)
    FROM new_rows e JOIN messages m ON m.id = e.message_id
   WHERE e.type = ''unsubscribed'' AND m.campaign_id IS NOT NULL
   GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (campaign_id, persona, bucket, shard) DO UPDATE SET n = s.n + EXCLUDED.n\073
  RETURN NULL\073
END\073';

CREATE TRIGGER message_events_campaign_reactions AFTER INSERT ON "message_events" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rapport_campaign_reactions();

-- The dashboard's engagement figures over 30 days read these ranges by index.
CREATE INDEX "message_engagement_first_open_at_idx" ON "message_engagement"("first_open_at") WHERE "first_open_at" IS NOT NULL;
CREATE INDEX "message_engagement_first_click_at_idx" ON "message_engagement"("first_click_at") WHERE "first_click_at" IS NOT NULL;
CREATE INDEX "message_events_reactions_created_at_idx" ON "message_events"("created_at", "type") WHERE "type" IN ('unsubscribed', 'complained');
